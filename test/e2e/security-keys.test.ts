/**
 * The key of a configured model never reaches a validation command, whatever its variable is
 * called (here FAKE_KEY, which no credential-name pattern matches). The executor's run_validation
 * and the server's own check share one runner setup in the dispatcher.
 */
import { afterEach, expect, it } from "vitest";
import { byTitle, createTask, type DispatchEnv, startDispatchEnv } from "./dispatch-helpers.js";
import { dispatchOne } from "./faults-helpers.js";
import { editSubtract, finish, MATH, spec } from "./fixtures.js";

let env: DispatchEnv | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

it("validation commands do not see a configured model's api_key_env variable", async () => {
  env = await startDispatchEnv({ "src/math.ts": MATH });
  env.fake.setHandler(byTitle({ "No keys": [editSubtract, finish] }));
  const id = await createTask(
    env,
    spec("No keys", {
      validation: [
        { run: "grep -q 'export function subtract' src/math.ts" },
        // Prints the key when it leaks; fails then.
        { run: 'echo "key=[$FAKE_KEY]"; test -z "$FAKE_KEY"' },
      ],
    }),
  );
  const r = await dispatchOne(env, id);
  expect(JSON.stringify(r)).not.toContain("test-key");
  expect(r.status).toBe("passed");
  expect(r.validation).toEqual({ passed: true, ran: 2 });
  // The server's key really was set: the executor's calls carried it.
  expect(env.fake.requests[0]!.apiKey).toBe("test-key");
});
