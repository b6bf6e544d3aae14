package lib.winpod.paths_test

import data.lib.winpod.paths

normalize_cases := {
	"drive path": {"path": `C:\Data\Logs`, "windows_pod": false, "want": {"kind": "windows", "key": `c:\data\logs`}},
	"forward slashes": {"path": "C:/data/logs/", "windows_pod": false, "want": {"kind": "windows", "key": `c:\data\logs`}},
	"mixed separators, repeats and dots": {"path": `c:\\data/./logs//`, "windows_pod": false, "want": {"kind": "windows", "key": `c:\data\logs`}},
	"drive root": {"path": `D:\`, "windows_pod": false, "want": {"kind": "windows", "key": "d:"}},
	"no drive letter means c:": {"path": `\data`, "windows_pod": false, "want": {"kind": "windows", "key": `c:\data`}},
	"POSIX-looking path of a Windows pod": {"path": "/var/log", "windows_pod": true, "want": {"kind": "windows", "key": `c:\var\log`}},
	"pipe": {"path": `\\.\pipe\CSI-proxy-v1`, "windows_pod": false, "want": {"kind": "pipe", "key": "csi-proxy-v1"}},
	"pipe with forward slashes": {"path": "//./pipe/docker_engine", "windows_pod": true, "want": {"kind": "pipe", "key": "docker_engine"}},
	"pipe with repeated separators": {"path": `\\.\\pipe\\x\.\y`, "windows_pod": false, "want": {"kind": "pipe", "key": `x\y`}},
	"pipe glob": {"path": `\\.\pipe\csi-proxy-*`, "windows_pod": false, "want": {"kind": "pipe", "key": "csi-proxy-*"}},
	"posix": {"path": "/var//log/./x/", "windows_pod": false, "want": {"kind": "posix", "key": "/var/log/x"}},
	"posix is case-sensitive": {"path": "/Var/Log", "windows_pod": false, "want": {"kind": "posix", "key": "/Var/Log"}},
	"posix root": {"path": "/", "windows_pod": false, "want": {"kind": "posix", "key": ""}},
	"posix colon is a character": {"path": "/a:b", "windows_pod": false, "want": {"kind": "posix", "key": "/a:b"}},
	"windows dot-dot": {"path": `C:\allowed\..\Windows`, "windows_pod": false, "want": {"kind": "never", "reason": `it has a ".." segment`}},
	"windows dot-dot at the end": {"path": `C:\allowed\..`, "windows_pod": false, "want": {"kind": "never", "reason": `it has a ".." segment`}},
	"dot-dot space": {"path": `C:\allowed\.. \Windows`, "windows_pod": false, "want": {"kind": "never", "reason": `its segment ".. " ends in a dot or space, which Windows trims`}},
	"three dots": {"path": `C:\allowed\...\Windows`, "windows_pod": false, "want": {"kind": "never", "reason": `its segment "..." ends in a dot or space, which Windows trims`}},
	"trailing dot": {"path": `C:\allowed.`, "windows_pod": false, "want": {"kind": "never", "reason": `its segment "allowed." ends in a dot or space, which Windows trims`}},
	"stream": {"path": `C:\allowed\x:stream`, "windows_pod": false, "want": {"kind": "never", "reason": `it has a ":" after the drive letter (an alternate data stream or device)`}},
	"second drive": {"path": `C:\x\D:\y`, "windows_pod": false, "want": {"kind": "never", "reason": `it has a ":" after the drive letter (an alternate data stream or device)`}},
	"drive-relative": {"path": "C:data", "windows_pod": false, "want": {"kind": "never", "reason": "it is relative to the current directory of the drive"}},
	"bare drive": {"path": "C:", "windows_pod": false, "want": {"kind": "never", "reason": "it is relative to the current directory of the drive"}},
	"windows relative": {"path": `data\x`, "windows_pod": false, "want": {"kind": "never", "reason": "it is a relative path"}},
	"relative on a Windows pod": {"path": "data", "windows_pod": true, "want": {"kind": "never", "reason": "it is a relative path"}},
	"device path": {"path": `\\.\C:\allowed\x`, "windows_pod": false, "want": {"kind": "never", "reason": `it is a \\.\ device path other than a named pipe`}},
	"device path PhysicalDrive": {"path": `\\.\PhysicalDrive0`, "windows_pod": false, "want": {"kind": "never", "reason": `it is a \\.\ device path other than a named pipe`}},
	"pipe without a name": {"path": `\\.\pipe\`, "windows_pod": false, "want": {"kind": "never", "reason": `it is a \\.\ device path other than a named pipe`}},
	"long path prefix": {"path": `\\?\C:\allowed\x`, "windows_pod": false, "want": {"kind": "never", "reason": `it is a \\?\ path`}},
	"UNC": {"path": `\\server\share`, "windows_pod": false, "want": {"kind": "never", "reason": `it is a UNC path (\\server\share)`}},
	"UNC with forward slashes": {"path": "//server/share", "windows_pod": true, "want": {"kind": "never", "reason": `it is a UNC path (\\server\share)`}},
	"pipe dot-dot": {"path": `\\.\pipe\csi-proxy-x\..\docker_engine`, "windows_pod": false, "want": {"kind": "never", "reason": `it has a ".." segment`}},
	"pipe colon": {"path": `\\.\pipe\a:b`, "windows_pod": false, "want": {"kind": "never", "reason": `it has a ":" in a pipe name`}},
	"reserved device": {"path": `C:\allowed\NUL`, "windows_pod": false, "want": {"kind": "never", "reason": "it names the reserved device nul"}},
	"reserved device with extension": {"path": `C:\allowed\com1.txt`, "windows_pod": false, "want": {"kind": "never", "reason": "it names the reserved device com1.txt"}},
	"posix dot-dot": {"path": "/data/../etc", "windows_pod": false, "want": {"kind": "never", "reason": `it has a ".." segment`}},
	"posix relative": {"path": "data", "windows_pod": false, "want": {"kind": "never", "reason": "it is a relative path"}},
	"posix empty": {"path": "", "windows_pod": false, "want": {"kind": "never", "reason": "it is a relative path"}},
	"posix leading double slash": {"path": "//./pipe/docker_engine", "windows_pod": false, "want": {"kind": "never", "reason": "it starts with //, a UNC or device prefix on Windows"}},
}

test_normalize[name] if {
	some name, tc in normalize_cases
	paths.normalize(tc.path, tc.windows_pod) == tc.want
}

test_normalize_non_string_is_undefined if {
	not paths.normalize(5, true)
}

# The allowlist of issue 3: every path below must be decided as listed.
allowlist := [`C:\allowed`, `\\.\pipe\csi-proxy-*`]

allow_cases := {
	# denied: attacks on today's public policies
	"dot-dot after forward slashes": {"path": `C:/allowed/..\Windows`, "windows_pod": true, "want": false},
	"prefix without a segment boundary": {"path": `C:\allowedevil`, "windows_pod": true, "want": false},
	"docker pipe": {"path": `\\.\pipe\docker_engine`, "windows_pod": true, "want": false},
	"docker pipe with forward slashes": {"path": "//./pipe/docker_engine", "windows_pod": true, "want": false},
	"docker pipe with forward slashes, pod not known to be Windows": {"path": "//./pipe/docker_engine", "windows_pod": false, "want": false},
	"long path prefix": {"path": `\\?\C:\allowed\x`, "windows_pod": true, "want": false},
	"UNC": {"path": `\\server\share`, "windows_pod": true, "want": false},
	"alternate data stream": {"path": `C:\allowed\x:stream`, "windows_pod": true, "want": false},
	# denied: more of the same family
	"device path": {"path": `\\.\C:\allowed\x`, "windows_pod": true, "want": false},
	"pipe traversal": {"path": `\\.\pipe\csi-proxy-x\..\docker_engine`, "windows_pod": true, "want": false},
	"dot-dot space": {"path": `C:\allowed\.. \Windows`, "windows_pod": true, "want": false},
	"other drive": {"path": `D:\allowed`, "windows_pod": true, "want": false},
	"parent of the entry": {"path": `C:\`, "windows_pod": true, "want": false},
	"pipe name prefix is not a pipe glob": {"path": `\\.\pipe\csi-prox`, "windows_pod": true, "want": false},
	"file path named like a pipe": {"path": `C:\pipe\csi-proxy-x`, "windows_pod": true, "want": false},
	"posix path on a Linux pod": {"path": "/allowed", "windows_pod": false, "want": false},
	# allowed
	"case-insensitive": {"path": `c:\ALLOWED\logs`, "windows_pod": true, "want": true},
	"forward slashes and trailing separator": {"path": "C:/allowed/logs/", "windows_pod": true, "want": true},
	"the entry itself": {"path": `C:\allowed`, "windows_pod": true, "want": true},
	"csi proxy pipe": {"path": `\\.\pipe\csi-proxy-filesystem-v1`, "windows_pod": true, "want": true},
	"csi proxy pipe, pod not known to be Windows": {"path": `\\.\pipe\csi-proxy-filesystem-v1`, "windows_pod": false, "want": true},
	"csi proxy pipe in upper case": {"path": `\\.\PIPE\CSI-PROXY-volume-v1`, "windows_pod": true, "want": true},
	"drive path on a pod not known to be Windows": {"path": `C:\allowed\x`, "windows_pod": false, "want": true},
	"no drive letter on a Windows pod": {"path": `/allowed/x`, "windows_pod": true, "want": true},
}

test_allows_issue_allowlist[name] if {
	some name, tc in allow_cases
	allowed := {prefix | some prefix in allowlist; paths.allows(prefix, tc.path, tc.windows_pod)}
	count(allowed) > 0 == tc.want
}

entry_cases := {
	"posix prefix": {"prefix": "/var/log", "path": "/var/log/pods", "windows_pod": false, "want": true},
	"posix prefix boundary": {"prefix": "/var/log", "path": "/var/logs", "windows_pod": false, "want": false},
	"posix case": {"prefix": "/var/log", "path": "/VAR/log", "windows_pod": false, "want": false},
	"posix root entry": {"prefix": "/", "path": "/etc", "windows_pod": false, "want": true},
	"posix trailing slash on entry": {"prefix": "/var/log/", "path": "/var/log/x", "windows_pod": false, "want": true},
	"posix entry on a Windows pod": {"prefix": "/var/log", "path": `C:\var\log\x`, "windows_pod": true, "want": true},
	"posix entry does not match a Windows path on a Linux pod": {"prefix": "/var/log", "path": `C:\var\log\x`, "windows_pod": false, "want": false},
	"drive root entry": {"prefix": `C:\`, "path": `C:\x`, "windows_pod": true, "want": true},
	"drive entry without separator is unusable": {"prefix": "C:", "path": `C:\x`, "windows_pod": true, "want": false},
	"exact pipe entry": {"prefix": `\\.\pipe\csi-proxy-filesystem-v1`, "path": `\\.\pipe\csi-proxy-filesystem-v1`, "windows_pod": true, "want": true},
	"exact pipe entry is not a prefix": {"prefix": `\\.\pipe\csi-proxy`, "path": `\\.\pipe\csi-proxy\x`, "windows_pod": true, "want": false},
	"pipe entry does not allow files": {"prefix": `\\.\pipe\*`, "path": `C:\x`, "windows_pod": true, "want": false},
	"file entry does not allow pipes": {"prefix": `C:\`, "path": `\\.\pipe\x`, "windows_pod": true, "want": false},
	"never-allowed entry allows nothing": {"prefix": `\\server\share`, "path": `\\server\share\x`, "windows_pod": true, "want": false},
	"dot-dot entry allows nothing": {"prefix": `C:\a\..`, "path": `C:\a\..\x`, "windows_pod": true, "want": false},
	"star in a file entry is literal": {"prefix": `C:\data*`, "path": `C:\database`, "windows_pod": true, "want": false},
	"entry not a string": {"prefix": 5, "path": `C:\x`, "windows_pod": true, "want": false},
	"path not a string": {"prefix": `C:\`, "path": null, "windows_pod": true, "want": false},
}

test_allows[name] if {
	some name, tc in entry_cases
	paths.allows(tc.prefix, tc.path, tc.windows_pod) == tc.want
}

windows_cases := {
	"drive letter": {"path": "c:/x", "windows_pod": false, "want": true},
	"backslash": {"path": `x\y`, "windows_pod": false, "want": true},
	"Windows pod": {"path": "/x", "windows_pod": true, "want": true},
	"posix": {"path": "/x", "windows_pod": false, "want": false},
	"colon not after a letter": {"path": "1:/x", "windows_pod": false, "want": false},
	"windows_pod not a boolean": {"path": "/x", "windows_pod": "true", "want": false},
	"not a string": {"path": 1, "windows_pod": false, "want": false},
}

test_is_windows[name] if {
	some name, tc in windows_cases
	paths.is_windows(tc.path, tc.windows_pod) == tc.want
}
