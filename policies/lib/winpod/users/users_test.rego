package lib.winpod.users_test

import data.lib.winpod.users

match_cases := {
	"exact": {"entry": "ContainerUser", "user": "ContainerUser", "want": true},
	"case-insensitive": {"entry": "ContainerUser", "user": "containeruser", "want": true},
	"case-insensitive entry": {"entry": `nt authority\LOCAL SERVICE`, "user": `NT AUTHORITY\local service`, "want": true},
	"different": {"entry": "ContainerUser", "user": "ContainerAdministrator", "want": false},
	"prefix is not enough": {"entry": "ContainerUser", "user": "ContainerUser2", "want": false},
	"domain wildcard": {"entry": `CONTOSO\*`, "user": `contoso\bob`, "want": true},
	"domain wildcard is not a prefix": {"entry": `CONTOSO\*`, "user": `CONTOSOEVIL\bob`, "want": false},
	"domain wildcard needs a name": {"entry": `CONTOSO\*`, "user": `CONTOSO\`, "want": false},
	"domain wildcard needs the domain": {"entry": `CONTOSO\*`, "user": "bob", "want": false},
	"domain wildcard one level": {"entry": `CONTOSO\*`, "user": `CONTOSO\x\bob`, "want": false},
	"domain wildcard does not match the domain itself": {"entry": `CONTOSO\*`, "user": "CONTOSO", "want": false},
	"star alone is literal": {"entry": "*", "user": "bob", "want": false},
	"entry not a string": {"entry": 1, "user": "1", "want": false},
	"user not a string": {"entry": "ContainerUser", "user": null, "want": false},
}

test_matches[name] if {
	some name, tc in match_cases
	users.matches(tc.entry, tc.user) == tc.want
}

allowed_cases := {
	"in list": {"user": "containeruser", "entries": ["x", "ContainerUser"], "want": true},
	"not in list": {"user": "ContainerAdministrator", "entries": ["ContainerUser"], "want": false},
	"empty list": {"user": "ContainerUser", "entries": [], "want": false},
	"list not an array": {"user": "ContainerUser", "entries": "ContainerUser", "want": false},
}

test_is_allowed[name] if {
	some name, tc in allowed_cases
	users.is_allowed(tc.user, tc.entries) == tc.want
}

admin_cases := {
	"ContainerAdministrator": {"user": "ContainerAdministrator", "want": true},
	"lower case": {"user": "containeradministrator", "want": true},
	"system": {"user": `NT AUTHORITY\SYSTEM`, "want": true},
	"system mixed case": {"user": `Nt Authority\System`, "want": true},
	"ContainerUser": {"user": "ContainerUser", "want": false},
	"local service": {"user": `NT AUTHORITY\LOCAL SERVICE`, "want": false},
	"not a string": {"user": ["ContainerAdministrator"], "want": false},
}

test_is_admin[name] if {
	some name, tc in admin_cases
	users.is_admin(tc.user) == tc.want
}

repository_cases := {
	"bare": {"image": "mcr.microsoft.com/windows/nanoserver", "want": "mcr.microsoft.com/windows/nanoserver"},
	"tag": {"image": "mcr.microsoft.com/windows/nanoserver:ltsc2022", "want": "mcr.microsoft.com/windows/nanoserver"},
	"digest": {"image": "mcr.microsoft.com/windows/nanoserver@sha256:0123abcd", "want": "mcr.microsoft.com/windows/nanoserver"},
	"tag and digest": {"image": "mcr.microsoft.com/windows/nanoserver:ltsc2022@sha256:0123abcd", "want": "mcr.microsoft.com/windows/nanoserver"},
	"registry port": {"image": "registry.local:5000/windows/nanoserver", "want": "registry.local:5000/windows/nanoserver"},
	"registry port and tag": {"image": "registry.local:5000/windows/nanoserver:1", "want": "registry.local:5000/windows/nanoserver"},
	"no registry": {"image": "nanoserver:1", "want": "nanoserver"},
}

test_repository[name] if {
	some name, tc in repository_cases
	users.repository(tc.image) == tc.want
}

test_repository_of_non_string_is_undefined if {
	not users.repository(5)
}

presumed_cases := {
	"nanoserver": {"image": "mcr.microsoft.com/windows/nanoserver:ltsc2022", "images": users.default_non_admin_images, "want": "ContainerUser"},
	"servercore": {"image": "mcr.microsoft.com/windows/servercore:ltsc2022", "images": users.default_non_admin_images, "want": "ContainerAdministrator"},
	"anchored": {"image": "evil.io/mcr.microsoft.com/windows/nanoserver", "images": users.default_non_admin_images, "want": "ContainerAdministrator"},
	"longer repository": {"image": "mcr.microsoft.com/windows/nanoserver-evil:1", "images": users.default_non_admin_images, "want": "ContainerAdministrator"},
	"glob": {"image": "corp.io/base/app:1", "images": ["corp.io/base/*"], "want": "ContainerUser"},
	"glob matches the repository only": {"image": "corp.io/app:base", "images": ["corp.io/app:*"], "want": "ContainerAdministrator"},
	"no image": {"image": null, "images": ["*"], "want": "ContainerAdministrator"},
	"images not a list": {"image": "mcr.microsoft.com/windows/nanoserver", "images": "mcr.microsoft.com/windows/nanoserver", "want": "ContainerAdministrator"},
}

test_presumed_user[name] if {
	some name, tc in presumed_cases
	users.presumed_user(tc.image, tc.images) == tc.want
}

account_cases := {
	"named": {"user": "Bob", "non_root": false, "image": "x", "want": {"name": "Bob", "presumed": false}},
	"named beats runAsNonRoot": {"user": "ContainerAdministrator", "non_root": true, "image": "x", "want": {"name": "ContainerAdministrator", "presumed": false}},
	"presumed admin": {"user": null, "non_root": false, "image": "x", "want": {"name": "ContainerAdministrator", "presumed": true}},
	"presumed non-admin": {"user": null, "non_root": false, "image": "mcr.microsoft.com/windows/nanoserver", "want": {"name": "ContainerUser", "presumed": true}},
	"runAsNonRoot as a string is not true": {"user": null, "non_root": "true", "image": "x", "want": {"name": "ContainerAdministrator", "presumed": true}},
}

test_account[name] if {
	some name, tc in account_cases
	users.account(tc.user, tc.non_root, tc.image, users.default_non_admin_images) == tc.want
}

test_account_unnamed_non_root_is_undefined if {
	not users.account(null, true, "x", [])
}

test_account_wrong_type_is_undefined if {
	not users.account(5, false, "x", [])
}
