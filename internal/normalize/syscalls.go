package normalize

import (
	"net/netip"
	"strings"
)

// Syscall numbers of the calls Logster maps or that audit rules commonly
// watch (from the kernel's unistd tables). Others keep their number and an
// empty name.
var syscallsX8664 = map[int]string{
	0: "read", 1: "write", 2: "open", 3: "close", 9: "mmap", 10: "mprotect", 17: "pread64", 18: "pwrite64",
	20: "writev", 32: "dup", 33: "dup2", 41: "socket", 42: "connect", 43: "accept", 44: "sendto",
	49: "bind", 50: "listen", 56: "clone", 57: "fork", 58: "vfork", 59: "execve", 60: "exit", 62: "kill",
	76: "truncate", 77: "ftruncate", 82: "rename", 83: "mkdir", 84: "rmdir", 85: "creat", 86: "link",
	87: "unlink", 88: "symlink", 90: "chmod", 91: "fchmod", 92: "chown", 93: "fchown", 94: "lchown",
	101: "ptrace", 105: "setuid", 106: "setgid", 113: "setreuid", 114: "setregid", 117: "setresuid",
	119: "setresgid", 157: "prctl", 161: "chroot", 165: "mount", 166: "umount2", 175: "init_module",
	176: "delete_module", 231: "exit_group", 250: "keyctl", 257: "openat", 258: "mkdirat", 263: "unlinkat",
	264: "renameat", 265: "linkat", 266: "symlinkat", 268: "fchmodat", 260: "fchownat", 272: "unshare",
	288: "accept4", 304: "open_by_handle_at", 308: "setns", 313: "finit_module", 316: "renameat2",
	319: "memfd_create", 321: "bpf", 322: "execveat", 425: "io_uring_setup", 437: "openat2",
}

var syscallsAArch64 = map[int]string{
	35: "unlinkat", 38: "renameat", 46: "ftruncate", 48: "faccessat", 53: "fchmodat", 54: "fchownat",
	56: "openat", 57: "close", 63: "read", 64: "write", 93: "exit", 94: "exit_group", 117: "ptrace",
	129: "kill", 146: "setuid", 144: "setgid", 198: "socket", 200: "bind", 201: "listen", 202: "accept",
	203: "connect", 206: "sendto", 220: "clone", 221: "execve", 222: "mmap", 242: "accept4",
	267: "syncfs", 273: "finit_module", 276: "renameat2", 279: "memfd_create", 280: "bpf", 281: "execveat",
	105: "init_module", 106: "delete_module", 437: "openat2",
}

// syscallName names syscall num of the audit arch (hex AUDIT_ARCH_* value).
func syscallName(arch string, num int) string {
	switch strings.ToLower(arch) {
	case "c000003e", "x86_64", "":
		return syscallsX8664[num]
	case "c00000b7", "aarch64":
		return syscallsAArch64[num]
	}
	return ""
}

func ipv6String(a [16]byte) string { return netip.AddrFrom16(a).Unmap().String() }
