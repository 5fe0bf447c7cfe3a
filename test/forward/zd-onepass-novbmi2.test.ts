/**
 * The F16/BF16 one-pass cases again with LAYERQUANT_NO_VBMI2=1: the AVX-512 sweep then keeps band
 * weights with float compresses, the path CPUs without AVX512_VBMI2 take. The variable is read
 * once per process, before the first sweep (each test file runs in its own process).
 */
import { zd16Cases } from '../cases/zd16.js';

process.env.LAYERQUANT_NO_VBMI2 = '1';
zd16Cases('ZD one-pass on 16-bit weights, without VBMI2');
