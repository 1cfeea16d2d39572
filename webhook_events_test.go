package qoder

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeWebhookEvent(t *testing.T) {
	t.Parallel()
	const sess = "sess_019e390add9f7bac9b6cc806db46fcbd"
	tests := []struct {
		name    string
		data    string
		want    WebhookData
		wantErr bool // for *UnknownWebhook: whether Err is set
	}{
		{name: "session.created", data: `{"type":"session.created","id":"` + sess + `"}`, want: &SessionCreatedWebhook{ID: sess}},
		{name: "session.updated", data: `{"type":"session.updated","id":"` + sess + `","title":"new"}`, want: &SessionUpdatedWebhook{ID: sess}},
		{name: "session.archived", data: `{"type":"session.archived","id":"` + sess + `"}`, want: &SessionArchivedWebhook{ID: sess}},
		{name: "session.deleted", data: `{"id":"` + sess + `","type":"session.deleted"}`, want: &SessionDeletedWebhook{ID: sess}},
		{name: "forward.schedule.created", data: `{"type":"forward.schedule.created","id":"sch_1","schema_version":1,"cron":"0 * * * *"}`, want: &ForwardScheduleCreatedWebhook{ID: "sch_1", SchemaVersion: 1}},
		{
			name: "forward.schedule_run.succeeded",
			data: `{"type":"forward.schedule_run.succeeded","id":"run_1","schema_version":1,"run_id":"run_1","schedule_id":"sch_1","identity_id":"idn_1","template_id":"tpl_1","status":"succeeded","trigger_type":"cron","attempt":2,"push_status":"pushed","duration_ms":61234,"source":"session","source_session_id":"` + sess + `"}`,
			want: &ForwardScheduleRunSucceededWebhook{
				ID: "run_1", SchemaVersion: 1, RunID: "run_1", ScheduleID: "sch_1", IdentityID: "idn_1", TemplateID: "tpl_1",
				Status: "succeeded", TriggerType: "cron", Attempt: 2, PushStatus: "pushed", DurationMS: 61234,
				Source: "session", SourceSessionID: sess,
			},
		},
		{
			name: "forward.schedule_run.succeeded without the optional fields",
			data: `{"type":"forward.schedule_run.succeeded","id":"run_2","schema_version":1,"run_id":"run_2","schedule_id":"sch_1","identity_id":"idn_1","template_id":"tpl_1","status":"succeeded","trigger_type":"manual","attempt":1,"push_status":"skipped","duration_ms":5}`,
			want: &ForwardScheduleRunSucceededWebhook{
				ID: "run_2", SchemaVersion: 1, RunID: "run_2", ScheduleID: "sch_1", IdentityID: "idn_1", TemplateID: "tpl_1",
				Status: "succeeded", TriggerType: "manual", Attempt: 1, PushStatus: "skipped", DurationMS: 5,
			},
		},
		{name: "unknown type", data: `{"type":"agent.created","id":"agent_1","name":"bot"}`, want: &UnknownWebhook{Type: "agent.created"}},
		{name: "no type", data: `{"id":"x"}`, want: &UnknownWebhook{}},
		{name: "empty object", data: `{}`, want: &UnknownWebhook{}},
		{name: "type not a string", data: `{"type":7,"id":"x"}`, want: &UnknownWebhook{}, wantErr: true},
		{name: "known type, id not a string", data: `{"type":"session.deleted","id":42}`, want: &UnknownWebhook{Type: "session.deleted"}, wantErr: true},
		{name: "known type, attempt not a number", data: `{"type":"forward.schedule_run.succeeded","id":"r","attempt":"2"}`, want: &UnknownWebhook{Type: "forward.schedule_run.succeeded"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := `{"type":"event","id":"whe_1","created_at":"2026-05-18T15:26:39.61669Z","extra":{"a":[1,2]},"data":` + tt.data + `}`
			ev, err := decodeWebhookEvent([]byte(body))
			require.NoError(t, err)
			assert.Equal(t, "whe_1", ev.ID)
			assert.Equal(t, time.Date(2026, 5, 18, 15, 26, 39, 616690000, time.UTC), ev.CreatedAt.UTC())
			assert.JSONEq(t, tt.data, string(ev.RawData))
			assert.Equal(t, tt.want.WebhookType(), ev.Type)
			if unknown, ok := tt.want.(*UnknownWebhook); ok {
				got, ok := ev.Data.(*UnknownWebhook)
				require.True(t, ok, "got %T", ev.Data)
				assert.Equal(t, unknown.Type, got.Type)
				assert.JSONEq(t, tt.data, string(got.Data))
				if tt.wantErr {
					assert.Error(t, got.Err)
				} else {
					assert.NoError(t, got.Err)
				}
				return
			}
			assert.Equal(t, tt.want, ev.Data)
		})
	}
}

// TestWebhookKinds checks that every catalog type decodes to a struct
// reporting that type.
func TestWebhookKinds(t *testing.T) {
	t.Parallel()
	catalog := []string{
		WebhookTypeSessionCreated, WebhookTypeSessionUpdated, WebhookTypeSessionArchived, WebhookTypeSessionDeleted,
		WebhookTypeForwardScheduleCreated, WebhookTypeForwardScheduleRunSucceeded,
	}
	assert.Len(t, webhookKinds, len(catalog))
	for _, typ := range catalog {
		data, err := json.Marshal(map[string]string{"type": typ, "id": "x"})
		require.NoError(t, err)
		ev, err := decodeWebhookEvent([]byte(`{"type":"event","data":` + string(data) + `}`))
		require.NoError(t, err)
		assert.Equal(t, typ, ev.Data.WebhookType())
		assert.NotPanics(t, ev.Data.isWebhookData)
		_, unknown := ev.Data.(*UnknownWebhook)
		assert.False(t, unknown, "%s decoded as unknown", typ)
	}
}
