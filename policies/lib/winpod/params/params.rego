# METADATA
# title: Constraint parameters
# description: >-
#   Reading constraint parameters so that a wrong type never loosens a rule.
#   The defaults themselves live in the rules, once.
# custom:
#   id: lib.winpod.params
package lib.winpod.params

# METADATA
# title: object_of
# description: The parameters when they are an object; {} (every default) when absent, null or anything else.
object_of(parameters) := parameters if is_object(parameters)

else := {}

# METADATA
# title: list
# description: >-
#   The list parameter key: default when absent or null, [] when it is not a
#   list (for lists where [] is the strictest value).
list(parameters, key, default_value) := value if {
	value := parameters[key]
	is_array(value)
} else := default_value if {
	object.get(parameters, key, null) == null
} else := []

# METADATA
# scope: document
# title: is_true
# description: True only when the parameter is the boolean true.
default is_true(_, _) := false

is_true(parameters, key) if parameters[key] == true

# METADATA
# scope: document
# title: is_false
# description: True only when the parameter is the boolean false.
default is_false(_, _) := false

is_false(parameters, key) if parameters[key] == false
