/*
 * HMAC-SHA256 over a whole Arrow string column in one call (CONTRACT §3.6-3.7).
 *
 * Python's hmac/hashlib cost about a microsecond per call, which caps pseudonymisation far below
 * what the machine can hash. Here the key's inner and outer pad blocks are hashed once, every value
 * then costs two SHA-256 compressions for a short message, and the loop runs without the GIL so
 * linkage/pseudonyms.py can spread a column over all cores. SHA-256 uses the CPU's SHA extensions
 * when present (checked at run time), otherwise a portable implementation.
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

#ifdef FACTLAB_X86
/* The SHA-NI round structure of Intel's reference: state kept as ABEF/CDGH, four rounds per step. */
__attribute__((target("sha,sse4.1,ssse3")))
static void compress_shani(uint32_t state[8], const uint8_t block[64]) {
    const __m128i mask = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i tmp = _mm_loadu_si128((const __m128i *)&state[0]);
    __m128i state1 = _mm_loadu_si128((const __m128i *)&state[4]);
    tmp = _mm_shuffle_epi32(tmp, 0xB1);
    state1 = _mm_shuffle_epi32(state1, 0x1B);
    __m128i state0 = _mm_alignr_epi8(tmp, state1, 8);
    state1 = _mm_blend_epi16(state1, tmp, 0xF0);
    const __m128i abef_save = state0, cdgh_save = state1;

    __m128i w[16];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block + 16 * i)), mask);
    }
#pragma GCC unroll 12
    for (int i = 4; i < 16; i++) {
        __m128i t = _mm_add_epi32(_mm_sha256msg1_epu32(w[i - 4], w[i - 3]), _mm_alignr_epi8(w[i - 1], w[i - 2], 4));
        w[i] = _mm_sha256msg2_epu32(t, w[i - 1]);
    }
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) {
        __m128i msg = _mm_add_epi32(w[i], _mm_loadu_si128((const __m128i *)&K256[4 * i]));
        state1 = _mm_sha256rnds2_epu32(state1, state0, msg);
        msg = _mm_shuffle_epi32(msg, 0x0E);
        state0 = _mm_sha256rnds2_epu32(state0, state1, msg);
    }
    state0 = _mm_add_epi32(state0, abef_save);
    state1 = _mm_add_epi32(state1, cdgh_save);

    tmp = _mm_shuffle_epi32(state0, 0x1B);
    state1 = _mm_shuffle_epi32(state1, 0xB1);
    state0 = _mm_blend_epi16(tmp, state1, 0xF0);
    state1 = _mm_alignr_epi8(state1, tmp, 8);
    _mm_storeu_si128((__m128i *)&state[0], state0);
    _mm_storeu_si128((__m128i *)&state[4], state1);
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

typedef void (*compress_fn)(uint32_t state[8], const uint8_t block[64]);
static compress_fn compress = compress_portable;
static int using_sha_extensions = 0;

static void wipe(void *p, size_t n) {
    volatile uint8_t *v = (volatile uint8_t *)p;
    while (n--) {
        *v++ = 0;
    }
}

static void store_be64(uint8_t *p, uint64_t v) {
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static const char HEX[] = "0123456789abcdef";

/* One HMAC: the inner state already holds K^ipad, the outer state K^opad (64 bytes each). */
static void hmac_hex(const uint32_t inner[8], const uint32_t outer[8], const uint8_t *prefix, size_t prefix_len,
                     const uint8_t *value, size_t value_len, char out[64]) {
    uint32_t st[8];
    uint8_t block[64];
    size_t fill = 0;
    memcpy(st, inner, sizeof st);
    const uint8_t *parts[2] = {prefix, value};
    size_t lens[2] = {prefix_len, value_len};
    for (int p = 0; p < 2; p++) {
        const uint8_t *src = parts[p];
        size_t len = lens[p];
        while (len) {
            size_t take = 64 - fill < len ? 64 - fill : len;
            memcpy(block + fill, src, take);
            fill += take; src += take; len -= take;
            if (fill == 64) {
                compress(st, block);
                fill = 0;
            }
        }
    }
    uint64_t bits = (uint64_t)(64 + prefix_len + value_len) * 8;
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
        block[4 * i] = (uint8_t)(st[i] >> 24);
        block[4 * i + 1] = (uint8_t)(st[i] >> 16);
        block[4 * i + 2] = (uint8_t)(st[i] >> 8);
        block[4 * i + 3] = (uint8_t)st[i];
    }
    block[32] = 0x80;
    memset(block + 33, 0, 23);
    store_be64(block + 56, (uint64_t)(64 + 32) * 8);
    memcpy(st, outer, sizeof st);
    compress(st, block);
    for (int i = 0; i < 8; i++) {
        for (int b = 0; b < 4; b++) {
            uint8_t byte = (uint8_t)(st[i] >> (24 - 8 * b));
            out[8 * i + 2 * b] = HEX[byte >> 4];
            out[8 * i + 2 * b + 1] = HEX[byte & 15];
        }
    }
}

static void pad_states(const uint8_t *key, size_t key_len, uint32_t inner[8], uint32_t outer[8]) {
    uint8_t pad[64];
    memset(pad, 0, sizeof pad);
    memcpy(pad, key, key_len);
    for (int i = 0; i < 64; i++) {
        pad[i] ^= 0x36;
    }
    memcpy(inner, IV256, 32);
    compress(inner, pad);
    for (int i = 0; i < 64; i++) {
        pad[i] ^= 0x36 ^ 0x5c;
    }
    memcpy(outer, IV256, 32);
    compress(outer, pad);
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
        (start + count + 1) * (Py_ssize_t)width > offsets.len) {
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
    const uint8_t *base = (const uint8_t *)data.buf;
    const int32_t *off32 = (const int32_t *)offsets.buf;
    const int64_t *off64 = (const int64_t *)offsets.buf;
    int bad = 0;
    Py_BEGIN_ALLOW_THREADS
    uint32_t inner[8], outer[8];
    pad_states((const uint8_t *)key.buf, (size_t)key.len, inner, outer);
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_ssize_t row = start + i;
        int64_t lo = width == 4 ? off32[row] : off64[row];
        int64_t hi = width == 4 ? off32[row + 1] : off64[row + 1];
        if (lo < 0 || hi < lo || hi > data.len) {
            bad = 1;
            break;
        }
        hmac_hex(inner, outer, (const uint8_t *)prefix.buf, (size_t)prefix.len, base + lo, (size_t)(hi - lo),
                 out + 64 * i);
    }
    wipe(inner, sizeof inner);
    wipe(outer, sizeof outer);
    Py_END_ALLOW_THREADS
    if (bad) {
        Py_CLEAR(result);
        PyErr_SetString(PyExc_ValueError, "beschadigde offsets in de kolom");
    } else if (result == NULL && !PyErr_Occurred()) {
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
    compress = using_sha_extensions ? compress_shani : compress_portable;
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
#ifdef FACTLAB_X86
    if (cpu_has_sha()) {
        compress = compress_shani;
        using_sha_extensions = 1;
    }
#endif
    return PyModule_Create(&module);
}
