import { describe, expect, it } from "vitest";
import { attemptGates } from "../../../src/executor/dispatch.js";

/** Lets every promise callback that can run, run. */
const settle = () => new Promise<void>((r) => setImmediate(r));

describe("attemptGates: how a dispatch's concurrency limit bounds its attempts", () => {
  it("runs n sessions at once, opens worktrees for up to n more, and checks n at once", async () => {
    const n = 2;
    const gates = attemptGates(n);
    const count = { prepared: 0, inSession: 0, maxInSession: 0, inCheck: 0, maxInCheck: 0 };
    const endSession: (() => void)[] = [];
    const endCheck: (() => void)[] = [];
    const attempt = () =>
      gates
        .window(async () => {
          count.prepared++;
          await gates.session(async () => {
            count.inSession++;
            count.maxInSession = Math.max(count.maxInSession, count.inSession);
            await new Promise<void>((r) => endSession.push(r));
            count.inSession--;
          });
        })
        .then(() =>
          gates.check(async () => {
            count.inCheck++;
            count.maxInCheck = Math.max(count.maxInCheck, count.inCheck);
            await new Promise<void>((r) => endCheck.push(r));
            count.inCheck--;
          }),
        );

    const all = Promise.all(Array.from({ length: 7 }, attempt));
    await settle();
    // Two talk to the model; two more have their worktrees open and wait for a session.
    expect(count).toMatchObject({ prepared: 4, inSession: 2 });

    // A session ends: its attempt goes to its check, a waiting one starts its session at once,
    // and a fifth opens its worktree.
    endSession.shift()!();
    await settle();
    expect(count).toMatchObject({ prepared: 5, inSession: 2, inCheck: 1 });

    // Checks are bounded on their own: a third finished session waits for a check slot.
    endSession.shift()!();
    endSession.shift()!();
    await settle();
    expect(count).toMatchObject({ prepared: 7, inSession: 2, inCheck: 2 });

    while (count.inSession + count.inCheck > 0 || endSession.length + endCheck.length > 0) {
      endSession.shift()?.();
      endCheck.shift()?.();
      await settle();
    }
    await all;
    expect(count).toMatchObject({ prepared: 7, maxInSession: n, maxInCheck: n });
  });
});
