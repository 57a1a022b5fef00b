/** The terrain flags (--dem-dir, --dem, --volcanoes), shared by synth and synth-series. */
import { InputError } from '../core/errors.js';
import type { TerrainSpec } from '../data/terrain-source.js';
import { list, str, type Parsed } from './args.js';

export function terrainFromFlags(p: Parsed): TerrainSpec {
  const demDir = str(p, 'dem-dir');
  const demFile = str(p, 'dem');
  if (demDir && demFile) throw new InputError('give --dem-dir or --dem, not both');
  const volcanoes = list(p, 'volcanoes');
  if (demDir) return { kind: 'srtm', path: demDir, volcanoes };
  if (demFile) return { kind: 'geotiff', path: demFile, volcanoes };
  if (volcanoes) throw new InputError('--volcanoes needs --dem-dir or --dem');
  return { kind: 'procedural' };
}
