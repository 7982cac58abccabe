/* Compiler hints and sanitizer hooks used across src/. Nothing here is
 * public; every internal symbol with external linkage has the aio__ prefix. */
#ifndef AIO_CORE_COMPILER_H
#define AIO_CORE_COMPILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "No entry" for 32-bit indices and links. */
#define AIO__NIL UINT32_MAX

/* Keep a rare (COLD) or occasional (NOINLINE) path out of the hot function
 * that calls it: inlined there, it costs the hot path register saves and
 * code layout. ALWAYS_INLINE: a hot function the compiler finds too big.
 * LIKELY: the branch to lay out as the straight path. ASSUME: a fact the
 * compiler cannot see (it drops the tests it makes redundant). */
#if defined(__GNUC__) || defined(__clang__)
#define AIO__COLD __attribute__((noinline, cold))
#define AIO__NOINLINE __attribute__((noinline))
#define AIO__ALWAYS_INLINE inline __attribute__((always_inline))
#define AIO__LIKELY(x) __builtin_expect(!!(x), 1)
#define AIO__UNLIKELY(x) __builtin_expect(!!(x), 0)
#define AIO__ASSUME(x)                                                                                       \
    do {                                                                                                     \
        if (!(x))                                                                                            \
            __builtin_unreachable();                                                                         \
    } while (0)
#else
#define AIO__COLD
#define AIO__NOINLINE
#define AIO__ALWAYS_INLINE inline
#define AIO__LIKELY(x) (x)
#define AIO__UNLIKELY(x) (x)
#define AIO__ASSUME(x) ((void)0)
#endif

/* Memory handed back to an arena's owner's free list: poisoned under
 * AddressSanitizer so that a use after free is caught as with malloc. */
#if defined(__SANITIZE_ADDRESS__)
#define AIO__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AIO__ASAN 1
#endif
#endif
#ifdef AIO__ASAN
#include <sanitizer/asan_interface.h>
#define AIO__POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define AIO__UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define AIO__POISON(p, n) ((void)(p), (void)(n))
#define AIO__UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#endif /* AIO_CORE_COMPILER_H */
