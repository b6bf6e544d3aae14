package lib.winpod.paths_test

import data.lib.winpod.paths

normalize_cases := {
	"drive path": {"path": `C:\Data\Logs`, "pod_os": "", "want": {"kind": "windows", "key": `C:\DATA\LOGS`}},
	"forward slashes": {"path": "C:/data/logs/", "pod_os": "", "want": {"kind": "windows", "key": `C:\DATA\LOGS`}},
	"mixed separators, repeats and dots": {"path": `c:\\data/./logs//`, "pod_os": "", "want": {"kind": "windows", "key": `C:\DATA\LOGS`}},
	"drive root": {"path": `D:\`, "pod_os": "", "want": {"kind": "windows", "key": "D:"}},
	"no drive letter means c:": {"path": `\data`, "pod_os": "", "want": {"kind": "windows", "key": `C:\DATA`}},
	"POSIX-looking path of a Windows pod": {"path": "/var/log", "pod_os": "windows", "want": {"kind": "windows", "key": `C:\VAR\LOG`}},
	"pipe": {"path": `\\.\pipe\CSI-proxy-v1`, "pod_os": "", "want": {"kind": "pipe", "key": "CSI-PROXY-V1"}},
	"pipe with forward slashes": {"path": "//./pipe/docker_engine", "pod_os": "windows", "want": {"kind": "pipe", "key": "DOCKER_ENGINE"}},
	"pipe with repeated separators": {"path": `\\.\\pipe\\x\.\y`, "pod_os": "", "want": {"kind": "pipe", "key": `X\Y`}},
	"pipe glob": {"path": `\\.\pipe\csi-proxy-*`, "pod_os": "", "want": {"kind": "pipe", "key": "CSI-PROXY-*"}},
	"posix": {"path": "/var//log/./x/", "pod_os": "", "want": {"kind": "posix", "key": "/var/log/x"}},
	"posix is case-sensitive": {"path": "/Var/Log", "pod_os": "", "want": {"kind": "posix", "key": "/Var/Log"}},
	"posix root": {"path": "/", "pod_os": "", "want": {"kind": "posix", "key": ""}},
	"posix colon is a character": {"path": "/a:b", "pod_os": "", "want": {"kind": "posix", "key": "/a:b"}},
	"windows dot-dot": {"path": `C:\allowed\..\Windows`, "pod_os": "", "want": {"kind": "never", "reason": `it has a ".." segment`}},
	"windows dot-dot at the end": {"path": `C:\allowed\..`, "pod_os": "", "want": {"kind": "never", "reason": `it has a ".." segment`}},
	"dot-dot space": {"path": `C:\allowed\.. \Windows`, "pod_os": "", "want": {"kind": "never", "reason": `its segment ".. " ends in a dot or space, which Windows trims`}},
	"three dots": {"path": `C:\allowed\...\Windows`, "pod_os": "", "want": {"kind": "never", "reason": `its segment "..." ends in a dot or space, which Windows trims`}},
	"trailing dot": {"path": `C:\allowed.`, "pod_os": "", "want": {"kind": "never", "reason": `its segment "allowed." ends in a dot or space, which Windows trims`}},
	"stream": {"path": `C:\allowed\x:stream`, "pod_os": "", "want": {"kind": "never", "reason": `it has a ":" after the drive letter (an alternate data stream or device)`}},
	"second drive": {"path": `C:\x\D:\y`, "pod_os": "", "want": {"kind": "never", "reason": `it has a ":" after the drive letter (an alternate data stream or device)`}},
	"drive-relative": {"path": "C:data", "pod_os": "", "want": {"kind": "never", "reason": "it is relative to the current directory of the drive"}},
	"bare drive": {"path": "C:", "pod_os": "", "want": {"kind": "never", "reason": "it is relative to the current directory of the drive"}},
	"windows relative": {"path": `data\x`, "pod_os": "", "want": {"kind": "never", "reason": "it is a relative path"}},
	"relative on a Windows pod": {"path": "data", "pod_os": "windows", "want": {"kind": "never", "reason": "it is a relative path"}},
	"device path": {"path": `\\.\C:\allowed\x`, "pod_os": "", "want": {"kind": "never", "reason": `it is a \\.\ device path other than a named pipe`}},
	"device path PhysicalDrive": {"path": `\\.\PhysicalDrive0`, "pod_os": "", "want": {"kind": "never", "reason": `it is a \\.\ device path other than a named pipe`}},
	"pipe without a name": {"path": `\\.\pipe\`, "pod_os": "", "want": {"kind": "never", "reason": `it is a \\.\ device path other than a named pipe`}},
	"long path prefix": {"path": `\\?\C:\allowed\x`, "pod_os": "", "want": {"kind": "never", "reason": `it is a \\?\ path`}},
	"UNC": {"path": `\\server\share`, "pod_os": "", "want": {"kind": "never", "reason": `it is a UNC path (\\server\share)`}},
	"UNC with forward slashes": {"path": "//server/share", "pod_os": "windows", "want": {"kind": "never", "reason": `it is a UNC path (\\server\share)`}},
	"pipe dot-dot": {"path": `\\.\pipe\csi-proxy-x\..\docker_engine`, "pod_os": "", "want": {"kind": "never", "reason": `it has a ".." segment`}},
	"pipe colon": {"path": `\\.\pipe\a:b`, "pod_os": "", "want": {"kind": "never", "reason": `it has a ":" in a pipe name`}},
	"reserved device": {"path": `C:\allowed\NUL`, "pod_os": "", "want": {"kind": "never", "reason": "it names the reserved device NUL"}},
	"reserved device with extension": {"path": `C:\allowed\com1.txt`, "pod_os": "", "want": {"kind": "never", "reason": "it names the reserved device com1.txt"}},
	"posix dot-dot": {"path": "/data/../etc", "pod_os": "", "want": {"kind": "never", "reason": `it has a ".." segment`}},
	"posix relative": {"path": "data", "pod_os": "", "want": {"kind": "never", "reason": "it is a relative path"}},
	"posix empty": {"path": "", "pod_os": "", "want": {"kind": "never", "reason": "it is a relative path"}},
	"posix leading double slash": {"path": "//./pipe/docker_engine", "pod_os": "", "want": {"kind": "never", "reason": "it starts with //, a UNC or device prefix on Windows"}},
	"posix leading double slash on a Linux pod collapses": {"path": "//var//log", "pod_os": "linux", "want": {"kind": "posix", "key": "/var/log"}},
	"posix leading double slash on a Linux pod, dot-dot": {"path": "//var/../etc", "pod_os": "linux", "want": {"kind": "never", "reason": `it has a ".." segment`}},
	"a Windows path on a Linux pod": {"path": `\\server\share`, "pod_os": "linux", "want": {"kind": "never", "reason": `it is a UNC path (\\server\share)`}},
	"reserved device, trailing space before the extension": {"path": `C:\allowed\COM1 .log`, "pod_os": "", "want": {"kind": "never", "reason": "it names the reserved device COM1 .log"}},
	"reserved device, trailing space": {"path": `C:\allowed\aux .txt\x`, "pod_os": "", "want": {"kind": "never", "reason": "it names the reserved device aux .txt"}},
	"reserved device, superscript digit": {"path": `C:\allowed\COM¹`, "pod_os": "", "want": {"kind": "never", "reason": "it names the reserved device COM¹"}},
	"reserved device, superscript two": {"path": `C:\allowed\lpt².txt`, "pod_os": "", "want": {"kind": "never", "reason": "it names the reserved device lpt².txt"}},
	"reserved console": {"path": `C:\allowed\CONIN$`, "pod_os": "windows", "want": {"kind": "never", "reason": "it names the reserved device CONIN$"}},
	"reserved console out": {"path": "/allowed/conout$.x", "pod_os": "windows", "want": {"kind": "never", "reason": "it names the reserved device conout$.x"}},
	"a name beginning like a device": {"path": `C:\allowed\console`, "pod_os": "", "want": {"kind": "windows", "key": `C:\ALLOWED\CONSOLE`}},
	"segment ending in a space": {"path": `C:\allowed \x`, "pod_os": "", "want": {"kind": "never", "reason": `its segment "allowed " ends in a dot or space, which Windows trims`}},
	"drive-relative after forward slash form": {"path": "C:Windows/System32", "pod_os": "windows", "want": {"kind": "never", "reason": "it is relative to the current directory of the drive"}},
}

test_normalize[name] if {
	some name, tc in normalize_cases
	paths.normalize(tc.path, tc.pod_os) == tc.want
}

test_normalize_non_string_is_undefined if {
	not paths.normalize(5, "windows")
}

# The allowlist of issue 3: every path below must be decided as listed.
allowlist := [`C:\allowed`, `\\.\pipe\csi-proxy-*`]

allow_cases := {
	# denied: attacks on today's public policies
	"dot-dot after forward slashes": {"path": `C:/allowed/..\Windows`, "pod_os": "windows", "want": false},
	"prefix without a segment boundary": {"path": `C:\allowedevil`, "pod_os": "windows", "want": false},
	"docker pipe": {"path": `\\.\pipe\docker_engine`, "pod_os": "windows", "want": false},
	"docker pipe with forward slashes": {"path": "//./pipe/docker_engine", "pod_os": "windows", "want": false},
	"docker pipe with forward slashes, pod not known to be Windows": {"path": "//./pipe/docker_engine", "pod_os": "", "want": false},
	"long path prefix": {"path": `\\?\C:\allowed\x`, "pod_os": "windows", "want": false},
	"UNC": {"path": `\\server\share`, "pod_os": "windows", "want": false},
	"alternate data stream": {"path": `C:\allowed\x:stream`, "pod_os": "windows", "want": false},
	# denied: more of the same family
	"device path": {"path": `\\.\C:\allowed\x`, "pod_os": "windows", "want": false},
	"pipe traversal": {"path": `\\.\pipe\csi-proxy-x\..\docker_engine`, "pod_os": "windows", "want": false},
	"dot-dot space": {"path": `C:\allowed\.. \Windows`, "pod_os": "windows", "want": false},
	"other drive": {"path": `D:\allowed`, "pod_os": "windows", "want": false},
	"parent of the entry": {"path": `C:\`, "pod_os": "windows", "want": false},
	"pipe name prefix is not a pipe glob": {"path": `\\.\pipe\csi-prox`, "pod_os": "windows", "want": false},
	"file path named like a pipe": {"path": `C:\pipe\csi-proxy-x`, "pod_os": "windows", "want": false},
	"posix path on a Linux pod": {"path": "/allowed", "pod_os": "", "want": false},
	"posix path on a declared-Linux pod": {"path": "/allowed", "pod_os": "linux", "want": false},
	# allowed
	"case-insensitive": {"path": `c:\ALLOWED\logs`, "pod_os": "windows", "want": true},
	"forward slashes and trailing separator": {"path": "C:/allowed/logs/", "pod_os": "windows", "want": true},
	"the entry itself": {"path": `C:\allowed`, "pod_os": "windows", "want": true},
	"csi proxy pipe": {"path": `\\.\pipe\csi-proxy-filesystem-v1`, "pod_os": "windows", "want": true},
	"csi proxy pipe, pod not known to be Windows": {"path": `\\.\pipe\csi-proxy-filesystem-v1`, "pod_os": "", "want": true},
	"csi proxy pipe in upper case": {"path": `\\.\PIPE\CSI-PROXY-volume-v1`, "pod_os": "windows", "want": true},
	"drive path on a pod not known to be Windows": {"path": `C:\allowed\x`, "pod_os": "", "want": true},
	"no drive letter on a Windows pod": {"path": `/allowed/x`, "pod_os": "windows", "want": true},
}

test_allows_issue_allowlist[name] if {
	some name, tc in allow_cases
	allowed := {prefix | some prefix in allowlist; allows(prefix, tc.path, tc.pod_os)}
	count(allowed) > 0 == tc.want
}

entry_cases := {
	"posix prefix": {"prefix": "/var/log", "path": "/var/log/pods", "pod_os": "", "want": true},
	"posix prefix boundary": {"prefix": "/var/log", "path": "/var/logs", "pod_os": "", "want": false},
	"posix case": {"prefix": "/var/log", "path": "/VAR/log", "pod_os": "", "want": false},
	"posix root entry": {"prefix": "/", "path": "/etc", "pod_os": "", "want": true},
	"posix trailing slash on entry": {"prefix": "/var/log/", "path": "/var/log/x", "pod_os": "", "want": true},
	"leading double slash on a declared-Linux pod": {"prefix": "/var/log", "path": "//var/log/x", "pod_os": "linux", "want": true},
	"leading double slash on an unmarked pod": {"prefix": "/var/log", "path": "//var/log/x", "pod_os": "", "want": false},
	"posix entry on a Windows pod": {"prefix": "/var/log", "path": `C:\var\log\x`, "pod_os": "windows", "want": true},
	"posix entry does not match a Windows path on a Linux pod": {"prefix": "/var/log", "path": `C:\var\log\x`, "pod_os": "", "want": false},
	"drive root entry": {"prefix": `C:\`, "path": `C:\x`, "pod_os": "windows", "want": true},
	"drive entry without separator is unusable": {"prefix": "C:", "path": `C:\x`, "pod_os": "windows", "want": false},
	"exact pipe entry": {"prefix": `\\.\pipe\csi-proxy-filesystem-v1`, "path": `\\.\pipe\csi-proxy-filesystem-v1`, "pod_os": "windows", "want": true},
	"exact pipe entry is not a prefix": {"prefix": `\\.\pipe\csi-proxy`, "path": `\\.\pipe\csi-proxy\x`, "pod_os": "windows", "want": false},
	"pipe entry does not allow files": {"prefix": `\\.\pipe\*`, "path": `C:\x`, "pod_os": "windows", "want": false},
	"file entry does not allow pipes": {"prefix": `C:\`, "path": `\\.\pipe\x`, "pod_os": "windows", "want": false},
	"never-allowed entry allows nothing": {"prefix": `\\server\share`, "path": `\\server\share\x`, "pod_os": "windows", "want": false},
	"dot-dot entry allows nothing": {"prefix": `C:\a\..`, "path": `C:\a\..\x`, "pod_os": "windows", "want": false},
	"star in a file entry is literal": {"prefix": `C:\data*`, "path": `C:\database`, "pod_os": "windows", "want": false},
	"upper-cased as Windows: the Kelvin sign is not k": {"prefix": `C:\kube`, "path": "C:\\\u212aube\\x", "pod_os": "windows", "want": false},
	"upper-cased as Windows: dotted capital I is not i": {"prefix": `C:\inetpub`, "path": "C:\\\u0130netpub", "pod_os": "windows", "want": false},
	"upper-cased as Windows: dotless i is I": {"prefix": `C:\inetpub`, "path": "C:\\\u0131netpub\\x", "pod_os": "windows", "want": true},
	"upper-cased as Windows: long s is S": {"prefix": `C:\Users\Public`, "path": "c:\\u\u017fers\\public", "pod_os": "windows", "want": true},
	"upper-cased pipe names": {"prefix": `\\.\pipe\csi-proxy-*`, "path": "\\\\.\\pipe\\C\u017fI-PROXY-x", "pod_os": "windows", "want": true},
	"entry not a string": {"prefix": 5, "path": `C:\x`, "pod_os": "windows", "want": false},
	"path not a string": {"prefix": `C:\`, "path": null, "pod_os": "windows", "want": false},
}

test_allows[name] if {
	some name, tc in entry_cases
	allows(tc.prefix, tc.path, tc.pod_os) == tc.want
}

windows_cases := {
	"drive letter": {"path": "c:/x", "pod_os": "", "want": true},
	"backslash": {"path": `x\y`, "pod_os": "", "want": true},
	"Windows pod": {"path": "/x", "pod_os": "windows", "want": true},
	"posix": {"path": "/x", "pod_os": "", "want": false},
	"colon not after a letter": {"path": "1:/x", "pod_os": "", "want": false},
	"Linux pod": {"path": "/x", "pod_os": "linux", "want": false},
	"drive letter on a Linux pod": {"path": `C:\x`, "pod_os": "linux", "want": true},
	"not a string": {"path": 1, "pod_os": "", "want": false},
}

test_is_windows[name] if {
	some name, tc in windows_cases
	paths.is_windows(tc.path, tc.pod_os) == tc.want
}

# A path as a volume gives it, normalised the way the rule does.
default allows(_, _, _) := false

allows(prefix, path, pod_os) if paths.allows_normalized(prefix, paths.normalize(path, pod_os), pod_os)
