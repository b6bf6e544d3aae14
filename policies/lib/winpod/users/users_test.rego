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
	"domain wildcard, domain under EqualFold": {"entry": `CONTOSO\*`, "user": `contoſo\bob`, "want": true},
	"domain wildcard never an admin": {"entry": `CONTOSO\*`, "user": `CONTOSO\ContainerAdministrator`, "want": false},
	"domain wildcard never an admin in any spelling": {"entry": `CONTOSO\*`, "user": `contoso\ContainerAdminiſtrator.`, "want": false},
	"domain wildcard never SYSTEM": {"entry": `NT AUTHORITY\*`, "user": `NT AUTHORITY\SYSTEM`, "want": false},
	"domain wildcard allows a service account": {"entry": `NT AUTHORITY\*`, "user": `nt authority\NETWORK SERVICE`, "want": true},
	"domain wildcard, doubled backslash is another domain": {"entry": `CONTOSO\*`, "user": `CONTOSO\\bob`, "want": false},
	"an exact admin entry names that account": {"entry": "ContainerAdministrator", "user": "containeradministrator", "want": true},
	"an exact admin entry names only that account": {"entry": "ContainerAdministrator", "user": `NT AUTHORITY\SYSTEM`, "want": false},
	"EqualFold: long s is s": {"entry": "ContainerUser", "user": "ContainerUſer", "want": true},
	"EqualFold: Kelvin sign is k": {"entry": `CONTOSO\kim`, "user": "CONTOSO\\\u212aim", "want": true},
	"EqualFold: dotted capital I is not i": {"entry": `CONTOSO\bill`, "user": "CONTOSO\\b\u0130ll", "want": false},
	"EqualFold: dotless i is not I": {"entry": "ContainerUser", "user": "Conta\u0131nerUser", "want": false},
	"EqualFold is not full folding": {"entry": "STRASSE", "user": "straße", "want": false},
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
	"bare SYSTEM": {"user": "SYSTEM", "want": true},
	"LocalSystem": {"user": "localsystem", "want": true},
	"Administrator": {"user": "Administrator", "want": true},
	"BUILTIN Administrators": {"user": `BUILTIN\Administrators`, "want": true},
	"dot domain": {"user": `.\ContainerAdministrator`, "want": true},
	"hostname domain": {"user": `web\ContainerAdministrator`, "want": true},
	"doubled backslash": {"user": `NT AUTHORITY\\SYSTEM`, "want": true},
	"slash": {"user": "NT AUTHORITY/SYSTEM", "want": true},
	"UPN": {"user": "Administrator@contoso.com", "want": true},
	"trailing dots and spaces": {"user": "ContainerAdministrator. .", "want": true},
	"leading blanks": {"user": "  SYSTEM", "want": true},
	"long s, EqualFold": {"user": "ContainerAdmini\u017ftrator", "want": true},
	"long s, upper-casing": {"user": "\u017fYSTEM", "want": true},
	"dotless i, upper-casing": {"user": "ContainerAdm\u0131n\u0131strator", "want": true},
	"dotted capital I, lower-casing": {"user": "ADM\u0130N\u0130STRATOR", "want": true},
	"Kelvin sign is no letter of these names": {"user": "\u212aYSTEM", "want": false},
	"ContainerUser": {"user": "ContainerUser", "want": false},
	"local service": {"user": `NT AUTHORITY\LOCAL SERVICE`, "want": false},
	"a longer name": {"user": "SYSTEMS", "want": false},
	"a name containing one": {"user": `CONTOSO\SYSTEM-backup`, "want": false},
	"not a string": {"user": ["ContainerAdministrator"], "want": false},
}

test_is_admin[name] if {
	some name, tc in admin_cases
	users.is_admin(tc.user) == tc.want
}

# Go's strings.EqualFold on the characters whose case mappings cross into
# ASCII (from Go 1.2x's unicode tables): ſ folds with s and S, the Kelvin
# sign with k and K; İ and ı fold with nothing, though ToLower(İ) is i and
# ToUpper(ı) is I.
equal_fold_cases := {
	"ascii": {"a": "Hello", "b": "hELLO", "want": true},
	"long s and s": {"a": "\u017f", "b": "s", "want": true},
	"long s and S": {"a": "\u017f", "b": "S", "want": true},
	"Kelvin and k": {"a": "\u212a", "b": "k", "want": true},
	"Kelvin and K": {"a": "\u212a", "b": "K", "want": true},
	"dotted capital I and i": {"a": "\u0130", "b": "i", "want": false},
	"dotted capital I and I": {"a": "\u0130", "b": "I", "want": false},
	"dotless i and I": {"a": "\u0131", "b": "I", "want": false},
	"dotless i and i": {"a": "\u0131", "b": "i", "want": false},
	"dotted capital I with itself": {"a": "x\u0130y", "b": "X\u0130Y", "want": true},
	"dotless i with itself": {"a": "\u0131s", "b": "\u0131\u017f", "want": true},
	"sigma forms": {"a": "\u03c3\u03c2", "b": "\u03a3\u03a3", "want": true},
	"sharp s is not ss": {"a": "\u00df", "b": "ss", "want": false},
	"different length": {"a": "ab", "b": "abc", "want": false},
	"not strings": {"a": 1, "b": "1", "want": false},
}

test_equal_fold[name] if {
	some name, tc in equal_fold_cases
	users.equal_fold(tc.a, tc.b) == tc.want
}

domain_cases := {
	"none": {"name": "bob", "want": [null, "bob"]},
	"domain": {"name": `CONTOSO\bob`, "want": ["CONTOSO", "bob"]},
	"last backslash": {"name": `a\b\c`, "want": [`a\b`, "c"]},
	"empty user part": {"name": `CONTOSO\`, "want": ["CONTOSO", ""]},
}

test_domain_and_user[name] if {
	some name, tc in domain_cases
	users.domain_and_user(tc.name) == tc.want
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
	"pause": {"image": "registry.k8s.io/pause:3.10", "images": users.default_non_admin_images, "want": "ContainerUser"},
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
	"named": {"user": "Bob", "image": "x", "want": {"name": "Bob", "presumed": false}},
	"presumed admin": {"user": null, "image": "x", "want": {"name": "ContainerAdministrator", "presumed": true}},
	"presumed non-admin": {"user": null, "image": "mcr.microsoft.com/windows/nanoserver", "want": {"name": "ContainerUser", "presumed": true}},
}

test_account[name] if {
	some name, tc in account_cases
	users.account(tc.user, tc.image, users.default_non_admin_images) == tc.want
}

test_account_wrong_type_is_undefined if {
	not users.account(5, "x", [])
}
