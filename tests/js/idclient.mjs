// A thin driver that lets the integration tests use matrix-js-sdk as a real
// Identity Service client of Signpost.
//
//   node idclient.mjs <signpost base URL> < steps.json
//
// stdin is a JSON list of steps, run in order, each one MatrixClient call:
//   [{"call": "registerWithIdentityServer", "args": [{...openid token...}]},
//    {"call": "getIdentityHashDetails", "args": ["$token"]}, ...]
// Two argument values are replaced before the call:
//   "$token"  the identity token of the last successful
//             registerWithIdentityServer step;
//   "$IS"     SERVICE_TYPES.IS, the service type getTerms and agreeToTerms
//             take.
//
// stdout is one JSON document: {"results": [...]}, one entry per step:
//   {"call", "ok": true, "value": <what the call resolved to>,
//    "wire": [<each HTTP request the call made>]}
//   {"call", "ok": false, "errcode", "httpStatus", "message", "wire": [...]}
// where a wire entry is {"method", "url", "body" (parsed JSON or null),
// "authorization" (header value or null), "status"}. A step that fails does
// not stop the later ones: the test decides what a failure means.
//
// Exit status: 0 when every step ran (whatever they answered), 2 on a
// usage error.

import { createClient, SERVICE_TYPES } from "matrix-js-sdk";

// Anything the library logs goes to stderr so that stdout stays one JSON
// document. (Its logger writes through console.log/debug/info.)
console.log = console.info = console.debug = console.trace = console.error;

// A call must fail on its own rather than hang until the test's timeout.
const CALL_TIMEOUT_MS = 10000;

const [idBaseUrl] = process.argv.slice(2);
if (!idBaseUrl) {
	console.error("usage: node idclient.mjs <identity server base URL> < steps.json");
	process.exit(2);
}

async function readStdin() {
	const chunks = [];
	for await (const chunk of process.stdin) chunks.push(chunk);
	return Buffer.concat(chunks).toString("utf8");
}

// Every request the client makes, recorded here by the fetch it is given,
// so the test can check what the library really sends on the wire.
let wire = [];

async function recordingFetch(resource, init = {}) {
	const headers = new Headers(init.headers);
	const entry = {
		method: init.method || "GET",
		url: String(resource),
		body: typeof init.body === "string" ? JSON.parse(init.body) : null,
		authorization: headers.get("Authorization"),
		status: null,
	};
	wire.push(entry);
	const response = await fetch(resource, init);
	entry.status = response.status;
	return response;
}

const client = createClient({
	// The six calls never talk to the homeserver; the URL only has to parse.
	baseUrl: "http://127.0.0.1:9",
	idBaseUrl,
	fetchFn: recordingFetch,
	localTimeoutMs: CALL_TIMEOUT_MS,
});

const steps = JSON.parse(await readStdin());
const results = [];
let token = null;

for (const step of steps) {
	const args = (step.args || []).map((a) =>
		a === "$token" ? token : a === "$IS" ? SERVICE_TYPES.IS : a,
	);
	wire = [];
	try {
		const value = await client[step.call](...args);
		if (step.call === "registerWithIdentityServer") {
			// The spec names the field `token`; one Sydent release
			// sent `access_token`, which clients still accept.
			token = value.token ?? value.access_token;
		}
		results.push({ call: step.call, ok: true, value: value ?? null, wire });
	} catch (e) {
		results.push({
			call: step.call,
			ok: false,
			errcode: e.errcode ?? null,
			httpStatus: e.httpStatus ?? null,
			message: String(e.message),
			wire,
		});
	}
}

// Exit once the output is written: the library's per-call timeout timers
// and fetch's idle keep-alive sockets would otherwise hold the process
// open for another CALL_TIMEOUT_MS.
process.stdout.write(JSON.stringify({ results }) + "\n", () => process.exit(0));
