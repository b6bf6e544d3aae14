# METADATA
# title: hostPath path matching
# description: >-
#   SPEC 2 "Path matching". A path normalises to a key: a Windows file path
#   (`C:\A\B`, upper-cased as Windows compares names; the drive root is `C:`), a named pipe (the name after
#   `\\.\pipe\`) or a POSIX path (`/a/b`; the root is the empty string), or to
#   a reason why no allowedHostPaths entry may ever allow it. An entry allows a
#   path when both normalise to the same kind and the entry's key is the path's
#   key or a prefix of it ending at a separator; pipe entries are globs.
#   pod_os is "windows" for a Windows pod, "linux" for a pod that declares
#   Linux, "" for any other.
# custom:
#   id: lib.winpod.paths
package lib.winpod.paths

import data.lib.winpod.globs

# METADATA
# scope: document
# title: is_windows
# description: >-
#   True when the path takes Windows semantics: it has a drive letter, starts
#   with or contains a backslash, or belongs to a Windows pod.
default is_windows(_, _) := false

is_windows(_, "windows")

is_windows(path, _) if {
	is_string(path)
	contains(path, `\`)
}

is_windows(path, _) if {
	is_string(path)
	_has_drive(path)
}

# METADATA
# title: normalize
# description: >-
#   {"kind": "windows"|"pipe"|"posix", "key": ...} for a usable path, or
#   {"kind": "never", "reason": ...}; undefined for a non-string.
normalize(path, pod_os) := _windows(replace(path, "/", `\`)) if {
	is_string(path)
	is_windows(path, pod_os)
} else := _posix(path, pod_os) if is_string(path)

# METADATA
# scope: document
# title: allows_normalized
# description: >-
#   True when the allowedHostPaths pathPrefix allows the hostPath path already
#   normalised (normalize): a rule normalises a volume's path once, however
#   many entries it tries.
default allows_normalized(_, _, _) := false

allows_normalized(prefix, target, pod_os) if {
	entry := normalize(prefix, pod_os)
	entry.kind != "never"
	entry.kind == target.kind
	_covers(entry, target)
}

_covers(entry, target) if {
	entry.kind == "pipe"
	globs.matches(entry.key, target.key)
}

_covers(entry, target) if {
	entry.kind != "pipe"
	entry.key == target.key
}

_covers(entry, target) if {
	entry.kind != "pipe"
	startswith(target.key, concat("", [entry.key, _separators[entry.kind]]))
}

_separators := {"windows": `\`, "posix": "/"}

_has_drive(path) if {
	substring(path, 1, 1) == ":"
	letter := lower(substring(path, 0, 1))
	letter != ""
	contains("abcdefghijklmnopqrstuvwxyz", letter)
}

_never(reason) := {"kind": "never", "reason": reason}

# Input has backslashes only. Windows (NTFS's upcase table, NPFS, account
# names) compares names upper-cased, so keys are upper-cased: lower-casing
# would make the Kelvin sign a k and İ an i, naming other files; reasons show
# the path as written.
_windows(p) := _device(substring(p, 2, -1)) if {
	startswith(p, `\\`)
} else := _rooted(substring(p, 0, 2), substring(p, 2, -1)) if {
	_has_drive(p)
} else := _rooted("C:", p) if {
	# The kubelet puts a path without a drive letter on c:.
	startswith(p, `\`)
} else := _never("it is a relative path")

# After a leading `\\`: only `\\.\pipe\NAME` can be allowed.
_device(rest) := _pipe(array.slice(segments, 1, count(segments))) if {
	startswith(rest, `.\`)
	segments := _segments(substring(rest, 2, -1))
	count(segments) > 1
	upper(segments[0]) == "PIPE"
} else := _never(`it is a \\.\ device path other than a named pipe`) if {
	startswith(rest, `.\`)
} else := _never(`it is a \\?\ path`) if {
	startswith(rest, `?\`)
} else := _never(`it is a UNC path (\\server\share)`)

_pipe(name) := _never(problems[0]) if {
	problems := _segment_problems(name)
	count(problems) > 0
} else := {"kind": "pipe", "key": upper(concat(`\`, name))}

_rooted(drive, rest) := _never("it is relative to the current directory of the drive") if {
	not startswith(rest, `\`)
} else := _never(`it has a ":" after the drive letter (an alternate data stream or device)`) if {
	contains(rest, ":")
} else := _never(problems[0]) if {
	problems := _segment_problems(_segments(rest))
	count(problems) > 0
} else := _never(sprintf("it names the reserved device %s", [devices[0]])) if {
	devices := [segment |
		some segment in _segments(rest)
		upper(trim_right(split(segment, ".")[0], " ")) in _reserved_devices
	]
	count(devices) > 0
} else := {"kind": "windows", "key": upper(concat(`\`, array.concat([drive], _segments(rest))))}

_segments(s) := [segment | some segment in split(s, `\`); not segment in {"", "."}]

# Win32 resolves `..` and trims trailing dots and spaces, so such a segment
# names something other than it spells.
_segment_problems(segments) := [problem |
	some segment in segments
	problem := _segment_problem(segment)
]

_segment_problem(segment) := `it has a ".." segment` if {
	segment == ".."
} else := `it has a ":" in a pipe name` if {
	contains(segment, ":")
} else := sprintf("its segment %q ends in a dot or space, which Windows trims", [segment]) if {
	_ends_in_dot_or_space(segment)
}

_ends_in_dot_or_space(segment) if endswith(segment, ".")

_ends_in_dot_or_space(segment) if endswith(segment, " ")

# Win32 also reserves COM and LPT with the superscript digits ¹ ² ³; every
# superscript digit is refused, over-reading being the safe error.
_reserved_devices := {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {concat("", [port, digit]) |
	some port in ["COM", "LPT"]
	some digit in ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"]
}

# A leading // is a UNC share on a Windows node; only a pod that declares
# Linux can never land on one.
_posix(p, pod_os) := _never("it is a relative path") if {
	not startswith(p, "/")
} else := _never("it starts with //, a UNC or device prefix on Windows") if {
	startswith(p, "//")
	pod_os != "linux"
} else := _never(`it has a ".." segment`) if {
	".." in _posix_segments(p)
} else := {"kind": "posix", "key": concat("/", array.concat([""], _posix_segments(p)))}

_posix_segments(p) := [segment | some segment in split(p, "/"); not segment in {"", "."}]
