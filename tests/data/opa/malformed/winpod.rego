# A decision whose "allowed" is a string: the client must refuse it.
package winpod

decision := {"allowed": "true", "violations": []}
