/* Store ids to Matrix user ids. */
#include <stdlib.h>
#include <string.h>

#include "core/mxid.h"
#include "core/util.h"
#include "identity/identity.h"

char *
identity_map_id(const struct backend_id *id, const char *domain)
{
	char *mxid;

	if (id->type == BACKEND_ID_MXID)
		return mxid_valid(id->value) ? xstrdup(id->value) : NULL;
	/* Checked on its own: "x:evil.org" on a domain such as "8448" would
	 * otherwise give the valid, but foreign, "@x:evil.org:8448". */
	if (!mxid_localpart_valid(id->value, strlen(id->value)))
		return NULL;
	mxid = xasprintf("@%s:%s", id->value, domain);
	if (!mxid_valid(mxid)) {
		free(mxid);
		return NULL;
	}
	return mxid;
}
