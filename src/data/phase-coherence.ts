/**
 * Phase-derived coherence for products without a coherence layer (and for masking synthetic
 * scenes the way such products are masked): gamma_hat = |local mean of exp(i phi)|, O(N) box
 * filter by summed-area tables, NaN ignored. The arithmetic lives in core/phase-coherence.ts so
 * that synth (which may not import data) shares it; this is the entry point for data and model code.
 *
 *   const coh = estimateCoherence(wrappedRad, width, height, 7);
 *   const masked = maskByCoherence(wrappedRad, coh, 0.3);
 */
export { estimateCoherence, maskByCoherence, randomPhaseCoherenceFloor } from '../core/phase-coherence.js';
