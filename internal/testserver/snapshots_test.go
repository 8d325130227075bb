//go:build unix

package testserver

import (
	"encoding/json"
	"testing"
)

// TestRestoreSnapshotChecks covers POST /v1/workspaces/from-snapshot: its required keys, the
// order of its checks and its 404s, and the label of the restored workspace.
func TestRestoreSnapshotChecks(t *testing.T) {
	t.Parallel()
	srv := Start(t)
	a := createWS(t, srv, "", map[string]any{})
	b := createWS(t, srv, "", map[string]any{})
	var snap snapshotRecord
	apiCall(t, srv, "", "POST", "/v1/workspaces/"+a.ID+"/snapshot", map[string]any{}).wantJSON(t, 201, &snap)
	if snap.Name != nil {
		t.Errorf("name = %v, want null", *snap.Name)
	}
	if r := apiCall(t, srv, "", "POST", "/v1/workspaces/"+a.ID+"/snapshot", nil); r.status != 415 {
		t.Errorf("snapshot without body: %d", r.status)
	}
	checkRejections(t, srv, "/v1/workspaces/from-snapshot", []rejection{
		{name: "missing parent is 422", body: `{"snapshot_id":"` + snap.ID + `"}`, status: 422, prefix: "Failed to deserialize the JSON body into the target type: missing field `parent_workspace_id`"},
		{name: "unknown snapshot first", body: `{"snapshot_id":"snap_x","parent_workspace_id":" "}`, status: 404, msg: "not found: snapshot snap_x"},
		{name: "blank parent", body: `{"snapshot_id":"` + snap.ID + `","parent_workspace_id":"  "}`, status: 400, msg: "bad request: parent_workspace_id is required"},
		{name: "wrong parent", body: `{"snapshot_id":"` + snap.ID + `","parent_workspace_id":"` + b.ID + `"}`, status: 404, msg: "not found: snapshot " + snap.ID},
	})
	var ws workspace
	apiCall(t, srv, "", "POST", "/v1/workspaces/from-snapshot", `{"snapshot_id":"`+snap.ID+`","parent_workspace_id":" `+a.ID+` ","label":" restored "}`).wantJSON(t, 201, &ws)
	if strOrEmpty(ws.Label) != "restored" {
		t.Fatalf("label %q", strOrEmpty(ws.Label))
	}
	if r := apiCall(t, srv, "", "GET", "/v1/workspaces/from-snapshot", nil); r.status != 405 {
		t.Errorf("GET from-snapshot: %d", r.status)
	}
}

// TestRestoreSnapshotKeepsParentTenant: a restored workspace belongs to the parent's tenant,
// whoever restores it.
func TestRestoreSnapshotKeepsParentTenant(t *testing.T) {
	t.Parallel()
	s := tenancyServer(t)
	ws := createWS(t, s, opBetaKey, map[string]any{})
	var snap snapshotRecord
	wireDo(t, "POST", s.URL()+"/v1/workspaces/"+ws.ID+"/snapshot", `{}`, wireKey(opBetaKey)).wantJSON(t, 201, &snap)
	body, _ := json.Marshal(map[string]string{"snapshot_id": snap.ID, "parent_workspace_id": ws.ID})
	tests := []struct {
		name, key string
	}{
		{name: "admin of another tenant", key: adminKey},
		{name: "owner", key: opBetaKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got workspace
			wireDo(t, "POST", s.URL()+"/v1/workspaces/from-snapshot", string(body), wireKey(tt.key)).wantJSON(t, 201, &got)
			if got.TenantID != "beta" {
				t.Fatalf("restored workspace tenant %q, want the parent's %q", got.TenantID, "beta")
			}
			// And the owner can see it.
			wireDo(t, "GET", s.URL()+"/v1/workspaces/"+got.ID, "", wireKey(opBetaKey)).wantJSON(t, 200, nil)
		})
	}
}
