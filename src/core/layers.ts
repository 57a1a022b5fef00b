/**
 * The one record of an interferogram's layers on a grid (row-major, row 0 = north): what products
 * (`io/licsar.ts` `Product`), windows cut from them (`data/windows.ts` `Window`), the resampler
 * (`data/resample.ts`) and augmentation (`data/augment.ts`) share. Synthetic scenes keep their
 * physical layers (LOS metres, DEM: `synth/scene.ts` `Scene`) until `data/inputs.ts` makes them
 * network inputs, and `data/channels.ts` takes its own `PhaseLayers` (phase plus optional DEM).
 */
export interface IfgLayers {
  readonly width: number;
  readonly height: number;
  /** Wrapped phase, radians (−π..π]. */
  readonly wrappedRad: Float32Array;
  /** Unwrapped phase, radians, or null when only wrapped phase is known. */
  readonly unwrappedRad: Float32Array | null;
  /** Coherence 0..1, or null when unknown. */
  readonly coherence: Float32Array | null;
  /** Non-zero = masked (bits say why: `io/licsar.ts` MASK_NODATA, MASK_INCOHERENT, MASK_ZERO). */
  readonly mask: Uint8Array;
}
