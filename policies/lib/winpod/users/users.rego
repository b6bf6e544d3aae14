# METADATA
# title: Windows user names and image default users
# description: >-
#   SPEC 1: user names compare case-insensitively (the kubelet uses EqualFold),
#   `DOMAIN\*` matches exactly that domain part, admin accounts, and the user a
#   container presumably runs as when it names none.
# custom:
#   id: lib.winpod.users
package lib.winpod.users

import data.lib.winpod.globs

# METADATA
# title: admin_accounts
# description: The admin accounts of SPEC 1, lower-cased.
admin_accounts := {"containeradministrator", `nt authority\system`}

# METADATA
# title: default_non_admin_images
# description: Image repositories whose default user is not an admin, when nonAdminImages is not set.
default_non_admin_images := ["mcr.microsoft.com/windows/nanoserver"]

# METADATA
# scope: document
# title: is_admin
# description: True when user is an admin account, in any case.
default is_admin(_) := false

is_admin(user) if {
	is_string(user)
	lower(user) in admin_accounts
}

# METADATA
# scope: document
# title: is_allowed
# description: True when user matches an entry of the allow list; a non-list allows no one.
default is_allowed(_, _) := false

# The exact name is tried first: it is the common case, and needs no lower().
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
#   True when user equals entry ignoring case, or entry is `DOMAIN\*` and user is
#   `DOMAIN\name` with exactly that domain and a non-empty name.
default matches(_, _) := false

matches(entry, user) if {
	is_string(entry)
	is_string(user)
	not endswith(entry, `\*`)
	lower(entry) == lower(user)
}

matches(entry, user) if {
	is_string(entry)
	is_string(user)
	endswith(entry, `\*`)
	parts := split(lower(user), `\`)
	count(parts) == 2
	parts[0] == lower(trim_suffix(entry, `\*`))
	parts[1] != ""
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
#   (no name and runAsNonRoot not true) the presumed image default; undefined
#   when it names none and runAsNonRoot is true, since the kubelet then refuses
#   to start it as ContainerAdministrator.
account(user, run_as_non_root, image, non_admin_images) := {"name": user, "presumed": false} if {
	is_string(user)
} else := {"name": presumed_user(image, non_admin_images), "presumed": true} if {
	user == null
	run_as_non_root != true
}
