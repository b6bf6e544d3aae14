# METADATA
# title: Windows user names and image default users
# description: >-
#   SPEC 1: allowlists compare user names as the kubelet does (Go's
#   strings.EqualFold), `DOMAIN\*` matches exactly that domain part and never
#   an admin account, admin accounts match fail-closed (any domain, every case
#   mapping), and a container naming no account runs as its image's default
#   user, presumed ContainerAdministrator unless the image is known not to.
# custom:
#   id: lib.winpod.users
package lib.winpod.users

import data.lib.winpod.globs

# METADATA
# title: admin_names
# description: The user parts of SPEC 1's admin accounts, whatever the domain.
admin_names := ["ContainerAdministrator", "Administrator", "Administrators", "SYSTEM", "LocalSystem"]

_admin_folds contains fold(name) if some name in admin_names

_admin_lowers contains lower(name) if some name in admin_names

_admin_uppers contains upper(name) if some name in admin_names

# METADATA
# title: default_non_admin_images
# description: >-
#   Image repositories whose default user is not an admin, when nonAdminImages
#   is not set: nanoserver, and pause, whose Windows image runs as
#   ContainerUser since 3.5 (kubernetes#97963).
default_non_admin_images := ["mcr.microsoft.com/windows/nanoserver", "registry.k8s.io/pause"]

# METADATA
# title: fold
# description: >-
#   The key under which Go's strings.EqualFold calls two strings equal: each
#   character's simple case-fold orbit (unicode.SimpleFold) stands for it.
#   Go's ToLower(ToUpper(r)) lies in r's orbit and is the same for every
#   member, for every code point but U+0130 and U+0131 (İ and ı, alone in
#   their orbits: ToLower(İ) is i and ToUpper(ı) is I, yet EqualFold keeps
#   them apart), which stand for themselves. OPA's lower and upper are Go's
#   simple mappings per code point.
fold(s) := lower(upper(s)) if {
	not contains(s, "İ")
	not contains(s, "ı")
} else := concat("", [_fold_char(c) | some c in split(s, "")])

_fold_char(c) := c if c in {"İ", "ı"}

else := lower(upper(c))

# METADATA
# scope: document
# title: equal_fold
# description: Go's strings.EqualFold for two strings; false when either is not one.
default equal_fold(_, _) := false

equal_fold(a, b) if {
	is_string(a)
	is_string(b)
	fold(a) == fold(b)
}

# METADATA
# title: domain_and_user
# description: >-
#   A name's domain part (everything before its last backslash, null when it
#   has none) and its user part.
domain_and_user(name) := [concat(`\`, array.slice(parts, 0, count(parts) - 1)), parts[count(parts) - 1]] if {
	parts := split(name, `\`)
	count(parts) > 1
} else := [null, name]

# METADATA
# scope: document
# title: is_admin
# description: >-
#   True when name is an admin account, fail-closed: its user part (after the
#   last backslash or slash, before any @, blanks around it and trailing dots
#   trimmed) is one of admin_names under EqualFold, lower-casing or
#   upper-casing (Windows compares account names upper-cased), whatever the
#   domain. Over-matching a name nobody would use is the safe error. A name
#   that is not a string is not one (shapes reports it as malformed).
default is_admin(_) := false

is_admin(name) if {
	is_string(name)
	_is_admin_part(_admin_part(name))
}

_admin_part(name) := trim_left(trim_right(split(last, "@")[0], " ."), " ") if {
	segments := regex.split(`[\\/]`, name)
	last := segments[count(segments) - 1]
}

_is_admin_part(part) if fold(part) in _admin_folds

_is_admin_part(part) if lower(part) in _admin_lowers

_is_admin_part(part) if upper(part) in _admin_uppers

# METADATA
# scope: document
# title: is_allowed
# description: >-
#   True when user matches an entry of the allow list (matches); a non-list
#   allows no one.
default is_allowed(_, _) := false

# The exact name is tried first: it is the common case, and needs no folding.
is_allowed(user, entries) if {
	is_string(user)
	is_array(entries)
	user in entries
}

is_allowed(user, entries) if {
	is_array(entries)
	some entry in entries
	matches(entry, user)
}

# METADATA
# scope: document
# title: matches
# description: >-
#   True when user equals entry under EqualFold, or entry is `DOMAIN\*` and
#   user's domain part equals DOMAIN under EqualFold, with a non-empty user
#   part that is not an admin account: inside a container the computer name is
#   the pod's hostname, so `HOSTNAME\ContainerAdministrator` is a local admin
#   whatever the domain looks like.
default matches(_, _) := false

matches(entry, user) if {
	is_string(entry)
	not endswith(entry, `\*`)
	equal_fold(entry, user)
}

matches(entry, user) if {
	is_string(entry)
	is_string(user)
	endswith(entry, `\*`)
	[domain, name] := domain_and_user(user)
	equal_fold(domain, trim_suffix(entry, `\*`))
	name != ""
	not is_admin(user)
}

# METADATA
# title: repository
# description: >-
#   An image reference without its tag and digest: `host:5000/a/b:tag@sha256:...`
#   is `host:5000/a/b` (a colon before the last slash is a registry port).
repository(image) := repo if {
	is_string(image)
	parts := split(split(image, "@")[0], "/")
	last := count(parts) - 1
	repo := concat("/", array.concat(array.slice(parts, 0, last), [split(parts[last], ":")[0]]))
}

# METADATA
# title: presumed_user
# description: >-
#   The user a Windows container runs as when it names none: ContainerUser for
#   an image repository in non_admin_images, else ContainerAdministrator.
presumed_user(image, non_admin_images) := "ContainerUser" if {
	globs.matches_any(non_admin_images, repository(image))
} else := "ContainerAdministrator"

# METADATA
# title: account
# description: >-
#   The account a Windows container runs as: its effective runAsUserName, else
#   the presumed image default. runAsNonRoot changes nothing: the kubelet only
#   refuses an image whose config names ContainerAdministrator, and servercore
#   leaves that field empty and still runs as ContainerAdministrator
#   (kubernetes/kubernetes#112469).
account(user, image, non_admin_images) := {"name": user, "presumed": false} if {
	is_string(user)
} else := {"name": presumed_user(image, non_admin_images), "presumed": true} if {
	user == null
}
