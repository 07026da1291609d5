/* Shared by the identity/ files; not for other modules. */
#ifndef SIGNPOST_IDENTITY_INTERNAL_H
#define SIGNPOST_IDENTITY_INTERNAL_H

#include "backend/backend.h"

struct identity {
	struct backend backend;
	char *domain;
	size_t bulk_chunk;
};

#endif
