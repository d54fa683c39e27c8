// Files the session keeps up to date (the service map, --summary-json) are written to a
// temporary name beside them and renamed into place, so a reader never sees half a file.

import { rename, unlink, writeFile } from 'node:fs/promises';

export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(temporary, data);
    await rename(temporary, path);
  } catch (err) {
    await unlink(temporary).catch(() => {});
    throw err;
  }
}
