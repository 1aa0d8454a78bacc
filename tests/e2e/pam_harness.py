"""Drive the real libpam from a test, with a private PAM configuration
directory (pam_start_confdir: nothing under /etc is read or changed).

    import pam_harness
    h = pam_harness.start("service", "user", "/path/to/pam.d")
    rc = h.call("pam_acct_mgmt")        # the libpam return code
    pam_harness.strerror(h, rc)          # e.g. "Permission denied"
    pam_harness.said                     # every message the modules sent
    h.end()

The conversation records each message and answers with empty responses.
"""
import ctypes

pam = ctypes.CDLL("libpam.so.0")
pam.pam_strerror.restype = ctypes.c_char_p
_libc = ctypes.CDLL(None)
_libc.calloc.restype = ctypes.c_void_p


class Message(ctypes.Structure):
    _fields_ = [("msg_style", ctypes.c_int), ("msg", ctypes.c_char_p)]


class Response(ctypes.Structure):
    _fields_ = [("resp", ctypes.c_char_p), ("resp_retcode", ctypes.c_int)]


CONV = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.POINTER(Message)),
                        ctypes.POINTER(ctypes.POINTER(Response)), ctypes.c_void_p)

said = []


@CONV
def _conv(n, msgs, resp, _data):
    for i in range(n):
        said.append(msgs[i].contents.msg.decode())
    # libpam frees the responses: allocate them with libc's calloc.
    resp[0] = ctypes.cast(_libc.calloc(n, ctypes.sizeof(Response)), ctypes.POINTER(Response))
    return 0


class _Conv(ctypes.Structure):
    _fields_ = [("conv", CONV), ("appdata_ptr", ctypes.c_void_p)]


_c = _Conv(_conv, None)


class Handle:
    def __init__(self, h):
        self.h = h

    def call(self, name, flags=0):
        return getattr(pam, name)(self.h, flags)

    def strerror(self, rc):
        return pam.pam_strerror(self.h, rc).decode()

    def end(self):
        pam.pam_end(self.h, 0)


def start(service, user, confdir):
    h = ctypes.c_void_p()
    rc = pam.pam_start_confdir(service.encode(), user.encode(), ctypes.byref(_c),
                               confdir.encode(), ctypes.byref(h))
    assert rc == 0, f"pam_start_confdir: {rc}"
    return Handle(h)
