/* One Lloyd step of K-Means (assign every row to its nearest centre, sum each cluster's rows).
 *
 * Built for a portable baseline (x86-64 with SSE2, or any other CPU), so a wheel or image built on
 * one machine runs on another: on x86-64 the loop is compiled twice, and the loader picks the AVX2 +
 * FMA copy (x86-64-v3) on a CPU that has them, the baseline copy elsewhere. Building with
 * CFLAGS="-march=native -DAMC_NATIVE" instead gives one copy for the building machine only.
 *
 * scikit-learn's loop multiplies 256-row chunks by the centres through BLAS; with k and d this
 * small, the calls cost more than the arithmetic. Here the distances of eight rows to eight
 * centres at a time are eight-wide vector FMAs, eight rows side by side so that no chain of
 * additions waits on the one before, and the nearest centre is picked without branches.
 * Called from analysis.kmeans.lloyd, which checks every argument's type and shape.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>

enum { LANES = 8, ROWS = 8 };
typedef float lanes __attribute__((vector_size(LANES * sizeof(float)), aligned(sizeof(float))));

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(AMC_NATIVE)
#define WIDEST_VECTORS __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define WIDEST_VECTORS
#endif

WIDEST_VECTORS
static void nearest_and_sums(const float *x, const float *row_norms, const float *weights, Py_ssize_t n, Py_ssize_t d,
                             const float *centres_by_feature, const float *centre_norms, Py_ssize_t k, Py_ssize_t padded,
                             int *labels, float *distances, double *sums, double *masses) {
    memset(sums, 0, sizeof(double) * (size_t)(k * d));
    memset(masses, 0, sizeof(double) * (size_t)k);
    for (Py_ssize_t first = 0; first < n; first += ROWS) {
        const Py_ssize_t rows = n - first < ROWS ? n - first : ROWS;
        float best[ROWS];
        int label[ROWS];
        for (int r = 0; r < ROWS; r++) {
            best[r] = FLT_MAX;
            label[r] = 0;
        }
        for (Py_ssize_t group = 0; group < padded; group += LANES) {
            lanes acc[ROWS];
            for (int r = 0; r < ROWS; r++) memcpy(&acc[r], centre_norms + group, sizeof(lanes));
            for (Py_ssize_t j = 0; j < d; j++) {
                lanes centre;
                memcpy(&centre, centres_by_feature + j * padded + group, sizeof centre);
                /* The last block repeats its first row in place of rows past the end: read, never stored. */
                for (int r = 0; r < ROWS; r++) acc[r] += x[(first + (r < rows ? r : 0)) * d + j] * centre;
            }
            for (int r = 0; r < ROWS; r++) {
                for (int q = 0; q < LANES; q++) {
                    const int closer = acc[r][q] < best[r];
                    best[r] = closer ? acc[r][q] : best[r];
                    label[r] = closer ? (int)(group + q) : label[r];
                }
            }
        }
        for (int r = 0; r < rows; r++) {
            const Py_ssize_t i = first + r;
            const float *row = x + i * d;
            const float squared = best[r] + row_norms[i];
            const double weight = weights[i];
            double *sum = sums + label[r] * d;
            labels[i] = label[r];
            distances[i] = squared > 0 ? squared : 0;
            for (Py_ssize_t j = 0; j < d; j++) sum[j] += weight * row[j];
            masses[label[r]] += weight;
        }
    }
}

/* step(x f4 (n, d), row_norms f4 (n), weights f4 (n), centres f4 (k, d),
 *      labels i4 (n) out, distances f4 (n) out, sums f8 (k, d) out, masses f8 (k) out) */
static PyObject *step(PyObject *self, PyObject *args) {
    PyObject *objects[8];
    if (!PyArg_ParseTuple(args, "OOOOOOOO", &objects[0], &objects[1], &objects[2], &objects[3], &objects[4],
                          &objects[5], &objects[6], &objects[7]))
        return NULL;
    Py_buffer views[8];
    int taken = 0;
    for (; taken < 8; taken++) {
        const int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (taken >= 4 ? PyBUF_WRITABLE : 0);
        if (PyObject_GetBuffer(objects[taken], &views[taken], flags) < 0) break;
    }
    PyObject *answer = NULL;
    if (taken == 8) {
        const Py_ssize_t n = views[0].shape[0], d = views[0].shape[1], k = views[3].shape[0];
        const Py_ssize_t padded = (k + LANES - 1) / LANES * LANES;
        /* Centres by feature (d, padded), times -2, and their squared norms: |x-c|² = |c|² - 2x·c + |x|².
         * Padding centres have an infinite norm, so they are never the nearest. */
        float *by_feature = malloc(sizeof(float) * (size_t)(padded * (d + 1)));
        if (by_feature == NULL) {
            answer = PyErr_NoMemory();
        } else {
            float *norms = by_feature + padded * d;
            const float *centres = views[3].buf;
            for (Py_ssize_t c = 0; c < padded; c++) {
                float norm = 0;
                for (Py_ssize_t j = 0; j < d; j++) {
                    const float value = c < k ? centres[c * d + j] : 0.0f;
                    by_feature[j * padded + c] = -2.0f * value;
                    norm += value * value;
                }
                norms[c] = c < k ? norm : FLT_MAX;
            }
            Py_BEGIN_ALLOW_THREADS
            nearest_and_sums(views[0].buf, views[1].buf, views[2].buf, n, d, by_feature, norms, k, padded,
                             views[4].buf, views[5].buf, views[6].buf, views[7].buf);
            Py_END_ALLOW_THREADS
            free(by_feature);
            answer = Py_NewRef(Py_None);
        }
    }
    for (int i = 0; i < taken; i++) PyBuffer_Release(&views[i]);
    return answer;
}

static PyMethodDef methods[] = {
    {"step", step, METH_VARARGS, "One Lloyd step: nearest centre and squared distance per row, weighted sums per cluster."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "analysis._lloyd", NULL, -1, methods};

PyMODINIT_FUNC PyInit__lloyd(void) { return PyModule_Create(&module); }
