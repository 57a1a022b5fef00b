/** Writing HDF5 files in the tests (h5wasm, as h5py would write them): one open/fill/close. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { h5wasm } from '../../src/io/hdf5.js';

export type H5File = import('h5wasm/node').File;

/** Create `file` (and its folder), let `fill` write into it, close it; returns the path. */
export async function writeH5(file: string, fill: (f: H5File) => void): Promise<string> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const h5 = await h5wasm();
  const f = new h5.File(file, 'w');
  try {
    fill(f);
  } finally {
    f.close();
  }
  return file;
}
