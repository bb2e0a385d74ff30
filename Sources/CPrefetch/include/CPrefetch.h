#ifndef LOUPE_CPREFETCH_H
#define LOUPE_CPREFETCH_H

// Software prefetch for the decode kernels, which Swift cannot spell: a hint that the cache line holding `p` will
// be read soon (prefetcht0). It never faults, so an address past the end of a buffer is harmless. Swift inlines
// this static function into its callers.
static inline void loupe_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

#endif
