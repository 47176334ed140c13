// goro/testing: fail a test that leaves goroutines behind (as uber-go/goleak).
import type { GoroutineInfo } from './index';

export interface LeakCheckOptions {
  /** How long to retry before failing, in ms (default 500). */
  grace?: number;
  /** Goroutines to excuse. */
  ignore?: (g: GoroutineInfo) => boolean;
}
export interface GoroSnapshot { readonly ids: Set<number>; }
export declare class LeakError extends Error {
  name: 'LeakError';
  /** The goroutines left behind. */
  leaked: GoroutineInfo[];
}
/** Wraps a test function: it fails (LeakError) if goroutines it started are still alive at its end. */
export declare function verifyNone<F extends (...args: any[]) => any>(fn: F, options?: LeakCheckOptions): (...args: Parameters<F>) => Promise<Awaited<ReturnType<F>>>;
export declare function verifyNone(options?: LeakCheckOptions): <F extends (...args: any[]) => any>(fn: F) => (...args: Parameters<F>) => Promise<Awaited<ReturnType<F>>>;
/** Turns tracing on and notes the goroutines alive now. */
export declare function goroSnapshot(): GoroSnapshot;
/** Resolves when every goroutine started since the snapshot has ended (retrying for `grace`);
 * else rejects with a LeakError naming each and where it was started. Turns tracing back off. */
export declare function checkLeaks(snapshot: GoroSnapshot, options?: LeakCheckOptions): Promise<void>;
