import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";

/**
 * Write `path` atomically: a temp file beside it, fsynced, then renamed over it. `fsync: false`
 * only for derived files a crash may lose (they are rebuilt), never for the user's data.
 */
export async function writeFileAtomic(
  path: string,
  data: string,
  opts: { fsync?: boolean } = {},
): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const fh = await open(tmp, "w", 0o644);
  try {
    await fh.writeFile(data, "utf8");
    if (opts.fsync !== false) await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
