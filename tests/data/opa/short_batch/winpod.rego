# A batch that drops an item: decide_many must notice.
package winpod

decision := {"allowed": true, "violations": []}

batch := {"decisions": [decision | some i, _ in input.items; i > 0]}
