package testserver

// The request bodies of the real server as serde sees them: each JSON route's Rust struct with
// its field types, defaults and flattened ExecOptions, so that serdeCheck can reject a body with
// the real server's exact words, path and position.

import "reflect"

// shapeKind is what serde expects at one place of a body.
type shapeKind int

const (
	shapeString shapeKind = iota // String
	shapeUint                    // u64, usize or u16 (name), at most max
	shapeSeq                     // Vec<elem>
	shapePair                    // (String, String)
	shapeMap                     // HashMap<key, elem>, key an enum of variants
	shapeStruct                  // a derived struct; name is the Rust name
	shapeEnum                    // a unit-variant enum deserialized from a string
	shapeTagged                  // an internally tagged enum, tag "mode"
)

// shape is serde's view of one type.
type shape struct {
	kind     shapeKind
	name     string // Rust type name: "u64", "GitSpec", …
	max      uint64
	elem     *shape
	variants []string // enum and tagged variants, map key variants
	fields   []shapeField
	flatten  []shapeField // #[serde(flatten)] ExecOptions fields, checked after the object
	// tagged: the fields of each struct variant, by variant name.
	variantFields map[string][]shapeField
}

// shapeField is one named field. optional: Option<T>, so null is None. required: no default,
// so a missing key is "missing field".
type shapeField struct {
	name     string
	s        *shape
	optional bool
	required bool
}

func req(name string, s *shape) shapeField { return shapeField{name: name, s: s, required: true} }
func opt(name string, s *shape) shapeField { return shapeField{name: name, s: s, optional: true} }
func dflt(name string, s *shape) shapeField {
	return shapeField{name: name, s: s}
}

func seqOf(s *shape) *shape { return &shape{kind: shapeSeq, elem: s} }

func structShape(name string, fields []shapeField, flatten []shapeField) *shape {
	return &shape{kind: shapeStruct, name: name, fields: fields, flatten: flatten}
}

var (
	stringShape = &shape{kind: shapeString}
	u64Shape    = &shape{kind: shapeUint, name: "u64", max: 1<<64 - 1}
	usizeShape  = &shape{kind: shapeUint, name: "usize", max: 1<<64 - 1}
	u16Shape    = &shape{kind: shapeUint, name: "u16", max: 1<<16 - 1}
	serviceEnum = &shape{kind: shapeEnum, name: "ServiceId", variants: serviceIDs}

	execOptionsShape = []shapeField{
		opt("network", &shape{kind: shapeTagged, name: "NetworkSpec", variants: []string{"none", "loopback", "allowlist"},
			variantFields: map[string][]shapeField{"allowlist": {dflt("domains", seqOf(stringShape))}}}),
		opt("seccomp", &shape{kind: shapeEnum, name: "SeccompSpec", variants: []string{"standard", "strict"}}),
		opt("cpu_percent", u64Shape),
		opt("max_pids", u64Shape),
	}
	gitShape = structShape("GitSpec", []shapeField{
		opt("repo", stringShape), opt("ref", stringShape),
		dflt("repos", seqOf(structShape("GitRepoEntry", []shapeField{req("repo", stringShape), opt("ref", stringShape), opt("dir", stringShape)}, nil))),
	}, nil)
	domainShape = structShape("WorkspaceDomain", []shapeField{req("domain", stringShape), opt("backend_url", stringShape), opt("vm_port", u16Shape)}, nil)
)

// requestShapes maps each decoded request type to the real server's struct.
var requestShapes = map[reflect.Type]*shape{
	reflect.TypeOf(sessionExecRequest{}): structShape("ExecRequest", []shapeField{
		req("cmd", stringShape), dflt("args", seqOf(stringShape)), opt("timeout_secs", u64Shape), opt("memory_mb", u64Shape),
	}, execOptionsShape),
	reflect.TypeOf(runRequest{}): structShape("RunRequest", []shapeField{
		req("code", stringShape), dflt("language", stringShape), opt("timeout_secs", u64Shape), opt("memory_mb", u64Shape), opt("git", gitShape),
	}, execOptionsShape),
	reflect.TypeOf(forkRequest{}): structShape("ForkRequest", []shapeField{
		req("parent_code", stringShape), opt("child_code", stringShape),
		dflt("children", seqOf(structShape("ForkChild", []shapeField{req("code", stringShape)}, nil))),
		dflt("language", stringShape), opt("fork_after_ms", u64Shape), opt("timeout_secs", u64Shape), opt("memory_mb", u64Shape),
		opt("git", gitShape),
	}, execOptionsShape),
	reflect.TypeOf(createSessionRequest{}): structShape("CreateSessionRequest", []shapeField{
		dflt("services", seqOf(serviceEnum)), opt("ttl_secs", u64Shape),
		dflt("scopes", &shape{kind: shapeMap, variants: serviceEnum.variants, elem: seqOf(stringShape)}),
	}, nil),
	reflect.TypeOf(putCredentialRequest{}):  structShape("PutCredentialRequest", []shapeField{req("service", serviceEnum), req("secret", stringShape)}, nil),
	reflect.TypeOf(createSnapshotRequest{}): structShape("CreateSnapshotRequest", []shapeField{opt("name", stringShape)}, nil),
	reflect.TypeOf(restoreSnapshotRequest{}): structShape("FromSnapshotRequest", []shapeField{
		req("snapshot_id", stringShape), req("parent_workspace_id", stringShape), opt("label", stringShape),
	}, nil),
	reflect.TypeOf(createWorkspaceRequest{}): structShape("CreateWorkspaceRequest", []shapeField{
		opt("git", gitShape), opt("label", stringShape), opt("memory_mb", u64Shape), opt("timeout_secs", u64Shape),
		opt("idle_timeout_secs", u64Shape), opt("domains", seqOf(domainShape)), opt("flavors", seqOf(stringShape)),
	}, execOptionsShape),
	reflect.TypeOf(forkWorkspaceRequest{}): structShape("ForkWorkspaceRequest", []shapeField{req("count", usizeShape), opt("label", stringShape)}, nil),
	reflect.TypeOf(workspaceExecRequest{}): structShape("WorkspaceExecRequest", []shapeField{
		req("cmd", stringShape), dflt("args", seqOf(stringShape)), opt("timeout_secs", u64Shape), opt("memory_mb", u64Shape),
		dflt("env", seqOf(&shape{kind: shapePair})),
	}, nil),
	reflect.TypeOf(patchWorkspaceRequest{}): structShape("PatchWorkspaceRequest", []shapeField{opt("label", stringShape)}, nil),
}
