/* Password checks: the store's verdict, with its id mapped to a user id. */
#include <stdlib.h>

#include "core/log.h"
#include "core/mxid.h"
#include "core/util.h"
#include "identity/identity.h"
#include "identity/internal.h"

struct auth_call {
	struct identity *id;
	identity_auth_cb cb;
	void *arg;
};

static void
on_backend_auth(const struct backend_auth_result *br, void *arg)
{
	struct auth_call *call = arg;
	struct identity_auth_result res = {
		.verdict = br->verdict,
		.fault = br->fault,
	};
	char *mxid = NULL;

	if (br->verdict == BACKEND_YES) {
		mxid = identity_map_id(&br->id, call->id->domain);
		if (mxid == NULL) {
			/* A success naming an impossible user must not log
			 * anyone in. */
			log_warnx("%s backend: auth answer names an invalid "
			    "user id", call->id->backend.ops->name);
			res.verdict = BACKEND_ERROR;
			res.fault = BACKEND_FAULT_BAD_GATEWAY;
		} else {
			res.mxid = mxid;
			res.display_name = br->display_name;
			res.threepids = br->threepids;
			res.nthreepids = br->nthreepids;
		}
	}
	call->cb(&res, call->arg);
	free(mxid);
	free(call);
}

int
identity_authenticate(struct identity *id, const char *user_id,
    const char *password, identity_auth_cb cb, void *arg)
{
	struct backend_auth_request req;
	struct auth_call *call;
	char *localpart, *domain;
	int rc;

	if (mxid_split(user_id, &localpart, &domain) != 0)
		return -1;
	if (!(id->backend.features & BACKEND_CAN_AUTH)) {
		/* Password checks turned off: as if the store knew nobody. */
		struct identity_auth_result res = { .verdict = BACKEND_NO };

		free(localpart);
		free(domain);
		cb(&res, arg);
		return 0;
	}
	req.mxid = user_id;
	req.localpart = localpart;
	req.domain = domain;
	req.password = password;
	call = xmalloc(sizeof(*call));
	call->id = id;
	call->cb = cb;
	call->arg = arg;
	rc = id->backend.ops->authenticate(id->backend.self, &req,
	    on_backend_auth, call);
	if (rc != 0)
		free(call);
	free(localpart);
	free(domain);
	return rc;
}
