/* sfu._wire: the relay's per-subscriber send, in C.
 *
 * One call writes an RTP packet (12-byte header, an optional one-byte header extension
 * block of ready-made elements, the payload) into a buffer, SRTP-protects it in place with
 * libsrtp's srtp_protect (a function pointer taken from pylibsrtp's binding, so the same
 * libsrtp and the same session state as aiortc's), and sends it with a non-blocking
 * sendto. The Python version of the same steps (sfu.rtpwrite.build + sfu.egress) makes the
 * whole relay cost about a quarter more CPU per forwarded packet; see docs/performance.md.
 *
 * The GIL is held throughout: the call never blocks (the socket is non-blocking) and is
 * shorter than a GIL hand-off.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

/* libsrtp 2's srtp_protect(srtp_t ctx, void *rtp_hdr, int *pkt_octet_len). */
typedef int (*protect_fn)(void *ctx, void *rtp_hdr, int *len);

#define BUFFER_SIZE 2048
/* Room libsrtp may append: auth tag + MKI (SRTP_MAX_TRAILER_LEN), as pylibsrtp reserves. */
#define TRAILER 144

#define SENT_TOO_BIG (-1)
#define SENT_PROTECT_FAILED (-2)
#define SENT_SOCKET_FAILED (-3)

static unsigned char buffer[BUFFER_SIZE];

static int
as_uint(PyObject *obj, unsigned long limit, unsigned long *out)
{
    unsigned long value = PyLong_AsUnsignedLong(obj);
    if (value == (unsigned long)-1 && PyErr_Occurred())
        return -1;
    if (value > limit) {
        PyErr_SetString(PyExc_OverflowError, "header field out of range");
        return -1;
    }
    *out = value;
    return 0;
}

static void
put32(unsigned char *p, unsigned long v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

PyDoc_STRVAR(send_rtp_doc,
"send_rtp(fd, sockaddr, srtp, protect, second_byte, seq, ts, ssrc, elements, payload) -> int\n"
"\n"
"Write, protect and send one RTP packet. ``sockaddr`` is a packed struct sockaddr;\n"
"``srtp`` the srtp_t and ``protect`` srtp_protect's address, as integers. Returns the\n"
"bytes sent, or -1 (too big), -2 (srtp_protect refused), -3 (sendto failed: errno in\n"
"last_errno()).");

static int saved_errno = 0;

static PyObject *
send_rtp(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 10) {
        PyErr_SetString(PyExc_TypeError, "send_rtp() takes exactly 10 arguments");
        return NULL;
    }
    int fd = (int)PyLong_AsLong(args[0]);
    if (fd == -1 && PyErr_Occurred())
        return NULL;
    PyObject *addr = args[1], *elements = args[8], *payload = args[9];
    if (!PyBytes_Check(addr) || !PyBytes_Check(elements) || !PyBytes_Check(payload)) {
        PyErr_SetString(PyExc_TypeError, "sockaddr, elements and payload must be bytes");
        return NULL;
    }
    void *ctx = PyLong_AsVoidPtr(args[2]);
    if (ctx == NULL && PyErr_Occurred())
        return NULL;
    protect_fn protect = (protect_fn)PyLong_AsVoidPtr(args[3]);
    if (protect == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "protect must be a function address");
        return NULL;
    }
    if (ctx == NULL) {
        PyErr_SetString(PyExc_ValueError, "srtp must be a session address");
        return NULL;
    }
    unsigned long second, seq, ts, ssrc;
    if (as_uint(args[4], 0xFF, &second) || as_uint(args[5], 0xFFFF, &seq)
        || as_uint(args[6], 0xFFFFFFFFUL, &ts) || as_uint(args[7], 0xFFFFFFFFUL, &ssrc))
        return NULL;

    Py_ssize_t n_elements = PyBytes_GET_SIZE(elements);
    Py_ssize_t n_payload = PyBytes_GET_SIZE(payload);
    Py_ssize_t pad = (4 - n_elements % 4) % 4;
    Py_ssize_t header = 12 + (n_elements ? 4 + n_elements + pad : 0);
    if (n_elements > 4 * 0xFFFF || header + n_payload > BUFFER_SIZE - TRAILER)
        return PyLong_FromLong(SENT_TOO_BIG);

    unsigned char *p = buffer;
    p[0] = n_elements ? 0x90 : 0x80;
    p[1] = (unsigned char)second;
    p[2] = (unsigned char)(seq >> 8);
    p[3] = (unsigned char)seq;
    put32(p + 4, ts);
    put32(p + 8, ssrc);
    if (n_elements) {
        Py_ssize_t words = (n_elements + pad) / 4;
        p[12] = 0xBE;
        p[13] = 0xDE;
        p[14] = (unsigned char)(words >> 8);
        p[15] = (unsigned char)words;
        memcpy(p + 16, PyBytes_AS_STRING(elements), (size_t)n_elements);
        memset(p + 16 + n_elements, 0, (size_t)pad);
    }
    memcpy(p + header, PyBytes_AS_STRING(payload), (size_t)n_payload);

    int len = (int)(header + n_payload);
    if (protect(ctx, p, &len) != 0 || len <= 0 || len > BUFFER_SIZE)
        return PyLong_FromLong(SENT_PROTECT_FAILED);
    ssize_t sent = sendto(fd, p, (size_t)len, 0, (const struct sockaddr *)PyBytes_AS_STRING(addr),
                          (socklen_t)PyBytes_GET_SIZE(addr));
    if (sent < 0) {
        saved_errno = errno;
        return PyLong_FromLong(SENT_SOCKET_FAILED);
    }
    return PyLong_FromSsize_t(sent);
}

PyDoc_STRVAR(last_errno_doc, "last_errno() -> int\n\nerrno of the last failed sendto.");

static PyObject *
last_errno(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return PyLong_FromLong(saved_errno);
}

static PyMethodDef methods[] = {
    {"send_rtp", (PyCFunction)(void (*)(void))send_rtp, METH_FASTCALL, send_rtp_doc},
    {"last_errno", last_errno, METH_NOARGS, last_errno_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "sfu._wire", "The relay's per-subscriber send, in C.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__wire(void)
{
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL)
        return NULL;
    if (PyModule_AddIntConstant(module, "TOO_BIG", SENT_TOO_BIG)
        || PyModule_AddIntConstant(module, "PROTECT_FAILED", SENT_PROTECT_FAILED)
        || PyModule_AddIntConstant(module, "SOCKET_FAILED", SENT_SOCKET_FAILED)
        || PyModule_AddIntConstant(module, "MAX_PACKET", BUFFER_SIZE - TRAILER)) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
