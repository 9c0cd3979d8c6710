/*
 * HMAC-SHA256 over a whole Arrow string column in one call (CONTRACT §3.6-3.7).
 *
 * Python's hmac/hashlib cost about a microsecond per call, which caps pseudonymisation far below
 * what the machine can hash. Here the key's inner and outer pad blocks are hashed once, every value
 * then costs two SHA-256 compressions for a short message, and the loop runs without the GIL so
 * linkage/pseudonyms.py can spread a column over all cores. SHA-256 uses the CPU's SHA extensions
 * when present (checked at run time), otherwise a portable implementation.
 *
 * With the SHA extensions, short messages (prefix + value of at most 55 bytes: one padded block)
 * are hashed several at a time: sha256rnds2 has a latency of several cycles but can start more
 * often, so the rounds of independent messages are interleaved to keep the unit busy. Their blocks
 * are built in registers (value bytes masked into a per-length template holding the prefix and the
 * padding) and the digests are hex-encoded with byte shuffles. Longer messages, and every message
 * on the portable path, take the general one-at-a-time path; both give the same bytes.
 *
 * The key is never stored beyond the call: its pad states live on the stack and are wiped.
 * Output: the lowercase hex digests, 64 bytes per value, back to back.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define FACTLAB_X86 1
#endif

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint32_t IV256[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

/* Longest prefix + value whose padded inner message (plus 0x80 and the 8-byte length) is one block. */
#define SHORT_MAX 55

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void compress_portable(uint32_t state[8], const uint8_t block[64]) {
    uint32_t w[64];
    for (int t = 0; t < 16; t++) {
        w[t] = ((uint32_t)block[4 * t] << 24) | ((uint32_t)block[4 * t + 1] << 16) |
               ((uint32_t)block[4 * t + 2] << 8) | (uint32_t)block[4 * t + 3];
    }
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = ROTR(w[t - 15], 7) ^ ROTR(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = ROTR(w[t - 2], 17) ^ ROTR(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int t = 0; t < 64; t++) {
        uint32_t t1 = h + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + K256[t] + w[t];
        uint32_t t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    state[0] += a; state[1] += b; state[2] += c; state[3] += d;
    state[4] += e; state[5] += f; state[6] += g; state[7] += h;
}

typedef void (*compress_fn)(uint32_t state[8], const uint8_t block[64]);

static void store_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void store_be64(uint8_t *p, uint64_t v) {
    store_be32(p, (uint32_t)(v >> 32));
    store_be32(p + 4, (uint32_t)v);
}

static void wipe(void *p, size_t n) {
    volatile uint8_t *v = (volatile uint8_t *)p;
    while (n--) {
        *v++ = 0;
    }
}

/* "000102...ff": the two hex digits of every byte value, filled in at module import. */
static char HEX_PAIRS[512];

static void init_hex_pairs(void) {
    static const char digits[] = "0123456789abcdef";
    for (int b = 0; b < 256; b++) {
        HEX_PAIRS[2 * b] = digits[b >> 4];
        HEX_PAIRS[2 * b + 1] = digits[b & 15];
    }
}

/* What every value of one call shares: the pad states of the key (H0..H7 after K^ipad resp. K^opad)
 * and the prefix. */
typedef struct {
    uint32_t inner[8], outer[8];
    const uint8_t *prefix;
    size_t prefix_len;
} hmac_ctx;

/* One HMAC of any length, one compression at a time. */
static void hmac_hex_general(const hmac_ctx *ctx, compress_fn compress, const uint8_t *value, size_t value_len,
                             char out[64]) {
    uint32_t st[8];
    uint8_t block[64];
    size_t fill = 0;
    memcpy(st, ctx->inner, sizeof st);
    const uint8_t *parts[2] = {ctx->prefix, value};
    size_t lens[2] = {ctx->prefix_len, value_len};
    for (int p = 0; p < 2; p++) {
        const uint8_t *src = parts[p];
        size_t len = lens[p];
        while (len) {
            if (fill == 0 && len >= 64) {
                compress(st, src); /* whole blocks straight from the source */
                src += 64; len -= 64;
                continue;
            }
            size_t take = 64 - fill < len ? 64 - fill : len;
            memcpy(block + fill, src, take);
            fill += take; src += take; len -= take;
            if (fill == 64) {
                compress(st, block);
                fill = 0;
            }
        }
    }
    uint64_t bits = ((uint64_t)ctx->prefix_len + (uint64_t)value_len + 64) * 8;
    block[fill++] = 0x80;
    if (fill > 56) {
        memset(block + fill, 0, 64 - fill);
        compress(st, block);
        fill = 0;
    }
    memset(block + fill, 0, 56 - fill);
    store_be64(block + 56, bits);
    compress(st, block);

    /* Outer hash: K^opad already absorbed; the 32-byte inner digest plus padding is one block. */
    for (int i = 0; i < 8; i++) {
        store_be32(block + 4 * i, st[i]);
    }
    block[32] = 0x80;
    memset(block + 33, 0, 23);
    store_be64(block + 56, (uint64_t)(64 + 32) * 8);
    memcpy(st, ctx->outer, sizeof st);
    compress(st, block);
    for (int i = 0; i < 8; i++) {
        for (int b = 0; b < 4; b++) {
            memcpy(out + 8 * i + 2 * b, HEX_PAIRS + 2 * (uint8_t)(st[i] >> (24 - 8 * b)), 2);
        }
    }
}

/* Offsets of value `row`, checked against the data buffer; 0 when they are damaged. */
static inline int value_bounds(const void *offsets, int width, Py_ssize_t row, Py_ssize_t data_len, int64_t *lo,
                               int64_t *hi) {
    if (width == 4) {
        *lo = ((const int32_t *)offsets)[row];
        *hi = ((const int32_t *)offsets)[row + 1];
    } else {
        *lo = ((const int64_t *)offsets)[row];
        *hi = ((const int64_t *)offsets)[row + 1];
    }
    return *lo >= 0 && *hi >= *lo && *hi <= data_len;
}

/* The whole column through the general path; -1 on damaged offsets. */
static int column_general(const hmac_ctx *ctx, compress_fn compress, const uint8_t *base, Py_ssize_t data_len,
                          const void *offsets, int width, Py_ssize_t start, Py_ssize_t count, char *out) {
    for (Py_ssize_t i = 0; i < count; i++) {
        int64_t lo, hi;
        if (!value_bounds(offsets, width, start + i, data_len, &lo, &hi)) {
            return -1;
        }
        hmac_hex_general(ctx, compress, base + lo, (size_t)(hi - lo), out + 64 * i);
    }
    return 0;
}

#ifdef FACTLAB_X86
#define SHANI_TARGET __attribute__((target("sha,sse4.1,ssse3")))
#define SHANI_INLINE static inline __attribute__((always_inline, target("sha,sse4.1,ssse3")))

/* The SHA-NI round structure of Intel's reference: state kept as ABEF/CDGH, four rounds per step. */
SHANI_INLINE void shani_load_state(const uint32_t state[8], __m128i *abef, __m128i *cdgh) {
    __m128i tmp = _mm_loadu_si128((const __m128i *)&state[0]);
    __m128i state1 = _mm_loadu_si128((const __m128i *)&state[4]);
    tmp = _mm_shuffle_epi32(tmp, 0xB1);          /* B A D C */
    state1 = _mm_shuffle_epi32(state1, 0x1B);    /* H G F E */
    *abef = _mm_alignr_epi8(tmp, state1, 8);     /* F E B A (dword 0 first) */
    *cdgh = _mm_blend_epi16(state1, tmp, 0xF0);  /* H G D C */
}

/*
 * n independent compressions side by side: state n is abef[n]/cdgh[n], its block w[n][0..3] holds
 * the 16 message words as native integers (big-endian loads). The inner loop over the messages
 * puts the rounds of different messages next to each other, so one sha256rnds2 can start while
 * another is still in flight. w is overwritten by the message schedule.
 */
SHANI_INLINE void shani_compress_n(const int n, __m128i *abef, __m128i *cdgh, __m128i (*w)[4]) {
    __m128i save0[4], save1[4];
#pragma GCC unroll 4
    for (int s = 0; s < n; s++) {
        save0[s] = abef[s];
        save1[s] = cdgh[s];
    }
#pragma GCC unroll 16
    for (int g = 0; g < 16; g++) {
        const __m128i k = _mm_loadu_si128((const __m128i *)&K256[4 * g]);
#pragma GCC unroll 4
        for (int s = 0; s < n; s++) {
            if (g >= 4) {
                /* W[g] from W[g-4], W[g-3], W[g-2], W[g-1], kept in a ring of four. */
                __m128i t = _mm_add_epi32(_mm_sha256msg1_epu32(w[s][g & 3], w[s][(g + 1) & 3]),
                                          _mm_alignr_epi8(w[s][(g + 3) & 3], w[s][(g + 2) & 3], 4));
                w[s][g & 3] = _mm_sha256msg2_epu32(t, w[s][(g + 3) & 3]);
            }
            const __m128i msg = _mm_add_epi32(w[s][g & 3], k);
            cdgh[s] = _mm_sha256rnds2_epu32(cdgh[s], abef[s], msg);
            abef[s] = _mm_sha256rnds2_epu32(abef[s], cdgh[s], _mm_shuffle_epi32(msg, 0x0E));
        }
    }
#pragma GCC unroll 4
    for (int s = 0; s < n; s++) {
        abef[s] = _mm_add_epi32(abef[s], save0[s]);
        cdgh[s] = _mm_add_epi32(cdgh[s], save1[s]);
    }
}

static SHANI_TARGET void compress_shani(uint32_t state[8], const uint8_t block[64]) {
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i abef, cdgh, w[1][4];
    shani_load_state(state, &abef, &cdgh);
    for (int i = 0; i < 4; i++) {
        w[0][i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block + 16 * i)), bswap);
    }
    shani_compress_n(1, &abef, &cdgh, w);
    __m128i tmp = _mm_shuffle_epi32(abef, 0x1B);
    cdgh = _mm_shuffle_epi32(cdgh, 0xB1);
    _mm_storeu_si128((__m128i *)&state[0], _mm_blend_epi16(tmp, cdgh, 0xF0));
    _mm_storeu_si128((__m128i *)&state[4], _mm_alignr_epi8(cdgh, tmp, 8));
}

/*
 * The one-block inner messages of one call, per total length L = prefix + value (prefix_len..55):
 * fill[L] is the padded block with the prefix, 0x80 and the bit length (64 + L) * 8 in place and
 * zeros where the value goes; keep[L] is 0xff exactly where the value goes.
 */
typedef struct {
    uint8_t fill[SHORT_MAX + 1][64] __attribute__((aligned(16)));
    uint8_t keep[SHORT_MAX + 1][64] __attribute__((aligned(16)));
} short_blocks;

static void short_blocks_init(short_blocks *t, const uint8_t *prefix, size_t prefix_len) {
    for (size_t len = prefix_len; len <= SHORT_MAX; len++) {
        memset(t->fill[len], 0, 64);
        memcpy(t->fill[len], prefix, prefix_len);
        t->fill[len][len] = 0x80;
        store_be64(t->fill[len] + 56, (uint64_t)(64 + len) * 8);
        for (size_t j = 0; j < 64; j++) {
            t->keep[len][j] = j >= prefix_len && j < len ? 0xff : 0;
        }
    }
}

/* A short message's block as message words: `src` is where the prefix would stand before the
 * value (64 readable bytes), `len` = prefix + value length. */
SHANI_INLINE void shani_short_block(const short_blocks *t, const uint8_t *src, size_t len, __m128i w[4]) {
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(src + 16 * k));
        x = _mm_and_si128(x, _mm_load_si128((const __m128i *)(t->keep[len] + 16 * k)));
        x = _mm_or_si128(x, _mm_load_si128((const __m128i *)(t->fill[len] + 16 * k)));
        w[k] = _mm_shuffle_epi8(x, bswap);
    }
}

/* 16 digest bytes (the dwords B A D C of half a state) as 32 lowercase hex characters. */
SHANI_INLINE void shani_hex16(char *dst, __m128i half) {
    const __m128i reverse64 = _mm_setr_epi8(7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8);
    const __m128i digits = _mm_setr_epi8('0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f');
    const __m128i low4 = _mm_set1_epi8(0x0f);
    const __m128i bytes = _mm_shuffle_epi8(half, reverse64); /* A3 A2 A1 A0 B3 .. D0: big-endian A B C D */
    const __m128i hi = _mm_shuffle_epi8(digits, _mm_and_si128(_mm_srli_epi16(bytes, 4), low4));
    const __m128i lo = _mm_shuffle_epi8(digits, _mm_and_si128(bytes, low4));
    _mm_storeu_si128((__m128i *)dst, _mm_unpacklo_epi8(hi, lo));
    _mm_storeu_si128((__m128i *)(dst + 16), _mm_unpackhi_epi8(hi, lo));
}

typedef struct {
    __m128i inner_abef, inner_cdgh, outer_abef, outer_cdgh;
} shani_pads;

/* n short HMACs side by side: inner blocks together, then outer blocks together. */
SHANI_INLINE void shani_hmac_short_n(const int n, const shani_pads *pads, const short_blocks *t,
                                     const uint8_t *const *src, const size_t *len, char *const *dst) {
    __m128i abef[4], cdgh[4], w[4][4];
#pragma GCC unroll 4
    for (int s = 0; s < n; s++) {
        shani_short_block(t, src[s], len[s], w[s]);
        abef[s] = pads->inner_abef;
        cdgh[s] = pads->inner_cdgh;
    }
    shani_compress_n(n, abef, cdgh, w);
#pragma GCC unroll 4
    for (int s = 0; s < n; s++) {
        /* The inner digest H0..H7 as the outer message words W0..W7, then the fixed padding of a
         * 96-byte message: W8 = 0x80000000, W15 = 768 bits. */
        w[s][0] = _mm_shuffle_epi32(_mm_unpackhi_epi64(abef[s], cdgh[s]), 0xB1); /* A B C D */
        w[s][1] = _mm_shuffle_epi32(_mm_unpacklo_epi64(abef[s], cdgh[s]), 0xB1); /* E F G H */
        w[s][2] = _mm_set_epi32(0, 0, 0, (int)0x80000000u);
        w[s][3] = _mm_set_epi32((64 + 32) * 8, 0, 0, 0);
        abef[s] = pads->outer_abef;
        cdgh[s] = pads->outer_cdgh;
    }
    shani_compress_n(n, abef, cdgh, w);
#pragma GCC unroll 4
    for (int s = 0; s < n; s++) {
        shani_hex16(dst[s], _mm_unpackhi_epi64(abef[s], cdgh[s]));
        shani_hex16(dst[s] + 32, _mm_unpacklo_epi64(abef[s], cdgh[s]));
    }
}

/* Messages hashed side by side (2..4; shani_flush handles the at most three left over). On an AMD
 * EPYC (Zen 3) two gave the most (1.6x one stream); three and four lose again, as the message
 * schedules of more streams compete with the rounds for the SHA unit and spill registers. */
#ifndef SHANI_WAYS
#define SHANI_WAYS 2
#endif
#if SHANI_WAYS < 2 || SHANI_WAYS > 4
#error "SHANI_WAYS must be 2, 3 or 4"
#endif

static SHANI_TARGET void shani_flush(const shani_pads *pads, const short_blocks *t, const uint8_t *const *src,
                                     const size_t *len, char *const *dst, int n) {
    if (n >= 2) {
        shani_hmac_short_n(2, pads, t, src, len, dst);
        src += 2; len += 2; dst += 2; n -= 2;
    }
    if (n == 1) {
        shani_hmac_short_n(1, pads, t, src, len, dst);
    }
}

/* The whole column with the SHA extensions; -1 on damaged offsets. */
static SHANI_TARGET int column_shani(const hmac_ctx *ctx, const uint8_t *base, Py_ssize_t data_len,
                                     const void *offsets, int width, Py_ssize_t start, Py_ssize_t count,
                                     char *out) {
    const size_t prefix_len = ctx->prefix_len;
    if (prefix_len > SHORT_MAX) {
        return column_general(ctx, compress_shani, base, data_len, offsets, width, start, count, out);
    }
    short_blocks t;
    short_blocks_init(&t, ctx->prefix, prefix_len);
    shani_pads pads;
    shani_load_state(ctx->inner, &pads.inner_abef, &pads.inner_cdgh);
    shani_load_state(ctx->outer, &pads.outer_abef, &pads.outer_cdgh);
    /* Values near either end of the data buffer are copied here first, so no load leaves it. */
    uint8_t scratch[SHANI_WAYS][128];
    memset(scratch, 0, sizeof scratch);
    const uint8_t *src[SHANI_WAYS];
    size_t len[SHANI_WAYS];
    char *dst[SHANI_WAYS];
    int pending = 0, status = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        int64_t lo, hi;
        if (!value_bounds(offsets, width, start + i, data_len, &lo, &hi)) {
            status = -1;
            break;
        }
        const size_t value_len = (size_t)(hi - lo);
        if (value_len > SHORT_MAX - prefix_len) {
            hmac_hex_general(ctx, compress_shani, base + lo, value_len, out + 64 * i);
            continue;
        }
        if (lo >= (int64_t)prefix_len && lo - (int64_t)prefix_len + 64 <= data_len) {
            src[pending] = base + (lo - (int64_t)prefix_len);
        } else {
            memcpy(scratch[pending] + 64, base + lo, value_len);
            src[pending] = scratch[pending] + 64 - prefix_len;
        }
        len[pending] = prefix_len + value_len;
        dst[pending] = out + 64 * i;
        if (++pending == SHANI_WAYS) {
            shani_hmac_short_n(SHANI_WAYS, &pads, &t, src, len, dst);
            pending = 0;
        }
    }
    if (status == 0) {
        shani_flush(&pads, &t, src, len, dst, pending);
    }
    wipe(&pads, sizeof pads);
    return status;
}

static int cpu_has_sha(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
        return 0;
    }
    int sha = (ebx >> 29) & 1;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) {
        return 0;
    }
    int sse41 = (ecx >> 19) & 1, ssse3 = (ecx >> 9) & 1;
    return sha && sse41 && ssse3;
}
#endif

static int using_sha_extensions = 0;

static void pad_states(compress_fn fn, const uint8_t *key, size_t key_len, uint32_t inner[8], uint32_t outer[8]) {
    uint8_t pad[64];
    memset(pad, 0, sizeof pad);
    memcpy(pad, key, key_len);
    for (int i = 0; i < 64; i++) {
        pad[i] ^= 0x36;
    }
    memcpy(inner, IV256, 32);
    fn(inner, pad);
    for (int i = 0; i < 64; i++) {
        pad[i] ^= 0x36 ^ 0x5c;
    }
    memcpy(outer, IV256, 32);
    fn(outer, pad);
    wipe(pad, sizeof pad);
}

PyDoc_STRVAR(hmac_hex_column_doc,
             "hmac_hex_column(key, prefix, offsets, data, offset_width, start, count[, out]) -> bytes | None\n\n"
             "Hex HMAC-SHA256(key, prefix + value) for `count` values of an Arrow string column, starting at\n"
             "value `start`; `offsets` and `data` are the column's buffers, `offset_width` 4 or 8 bytes.\n"
             "Returns the 64 * count hex bytes, or writes them into the writable buffer `out` (exactly that\n"
             "size, e.g. a slice of a memoryview) and returns None.");

static PyObject *hmac_hex_column(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer key, prefix, offsets, data, target = {0};
    int width;
    Py_ssize_t start, count;
    if (!PyArg_ParseTuple(args, "y*y*y*y*inn|w*", &key, &prefix, &offsets, &data, &width, &start, &count,
                          &target)) {
        return NULL;
    }
    PyObject *result = NULL;
    char *out = NULL;
    if (key.len < 1 || key.len > 64 || (width != 4 && width != 8) || start < 0 || count < 0 ||
        start > PY_SSIZE_T_MAX / width - count - 1 || (start + count + 1) * (Py_ssize_t)width > offsets.len) {
        PyErr_SetString(PyExc_ValueError, "ongeldige invoer voor hmac_hex_column");
        goto done;
    }
    if (count > PY_SSIZE_T_MAX / 64) {
        PyErr_NoMemory();
        goto done;
    }
    if (target.buf != NULL) {
        if (target.len != count * 64) {
            PyErr_SetString(PyExc_ValueError, "de uitvoerbuffer moet precies 64 bytes per waarde hebben");
            goto done;
        }
        out = (char *)target.buf;
    } else {
        result = PyBytes_FromStringAndSize(NULL, count * 64);
        if (result == NULL) {
            goto done;
        }
        out = PyBytes_AS_STRING(result);
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    hmac_ctx ctx;
    ctx.prefix = (const uint8_t *)prefix.buf;
    ctx.prefix_len = (size_t)prefix.len;
    const int sha = using_sha_extensions;
#ifdef FACTLAB_X86
    const compress_fn fn = sha ? compress_shani : compress_portable;
#else
    const compress_fn fn = compress_portable;
    (void)sha;
#endif
    pad_states(fn, (const uint8_t *)key.buf, (size_t)key.len, ctx.inner, ctx.outer);
#ifdef FACTLAB_X86
    if (sha) {
        status = column_shani(&ctx, (const uint8_t *)data.buf, data.len, offsets.buf, width, start, count, out);
    } else
#endif
    {
        status = column_general(&ctx, fn, (const uint8_t *)data.buf, data.len, offsets.buf, width, start, count,
                                out);
    }
    wipe(&ctx, sizeof ctx);
    Py_END_ALLOW_THREADS
    if (status != 0) {
        Py_CLEAR(result);
        PyErr_SetString(PyExc_ValueError, "beschadigde offsets in de kolom");
    } else if (result == NULL) {
        result = Py_NewRef(Py_None);
    }
done:
    PyBuffer_Release(&key);
    PyBuffer_Release(&prefix);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&data);
    if (target.buf != NULL) {
        PyBuffer_Release(&target);
    }
    return result;
}

static PyObject *sha_extensions(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    return PyBool_FromLong(using_sha_extensions);
}

static PyObject *use_portable(PyObject *self, PyObject *flag) {
    (void)self;
    int portable = PyObject_IsTrue(flag);
    if (portable < 0) {
        return NULL;
    }
#ifdef FACTLAB_X86
    using_sha_extensions = !portable && cpu_has_sha();
#else
    (void)portable;
#endif
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"hmac_hex_column", hmac_hex_column, METH_VARARGS, hmac_hex_column_doc},
    {"sha_extensions", sha_extensions, METH_NOARGS, "True when the CPU's SHA instructions are used."},
    {"use_portable", use_portable, METH_O, "Force (True) or release (False) the portable SHA-256 (tests)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_hmac_bulk", "Bulk HMAC-SHA256 over Arrow columns.", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__hmac_bulk(void) {
    init_hex_pairs();
#ifdef FACTLAB_X86
    using_sha_extensions = cpu_has_sha();
#endif
    return PyModule_Create(&module);
}
