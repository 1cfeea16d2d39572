package qoder

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"time"
)

// ModelsService lists the models an agent can use.
//
// See https://docs.qoder.com/cloud-agents/api/models/list.
type ModelsService service

// List returns the models enabled for the caller. The API currently
// answers with every model on one page; nil params means defaults.
//
// API: GET /models
func (s *ModelsService) List(ctx context.Context, params *ModelListParams, opts ...RequestOption) (*Page[Model], error) {
	return invoke[Page[Model]](ctx, s.client, http.MethodGet, literalPath("models"), params, nil, opts)
}

// All iterates over every model, fetching further pages if the API ever
// sends them. params is not modified.
//
// API: GET /models
func (s *ModelsService) All(ctx context.Context, params *ModelListParams, opts ...RequestOption) iter.Seq2[Model, error] {
	return listAll(ctx, params, func(ctx context.Context, p *ModelListParams) (*Page[Model], error) {
		return s.List(ctx, p, opts...)
	})
}

// Model is a model of the catalog; its ID is what [ModelConfig.ID] takes.
type Model struct {
	resourceJSON

	// ID is the model id, such as "ultimate" or "auto".
	ID string `json:"id"`
	// Type is always "model".
	Type string `json:"type"`
	// DisplayName is the human-readable name.
	DisplayName string `json:"display_name"`
	// Source is "system" for platform models and "user" for models of
	// your account.
	Source string `json:"source"`
	// IsEnabled is true for listed models (disabled ones are left out).
	IsEnabled bool `json:"is_enabled"`
	// IsNew marks recently added models.
	IsNew bool `json:"is_new"`
	// PriceFactor is the model's relative price, such as 1.6; zero when
	// not given.
	PriceFactor float64 `json:"price_factor,omitempty"`
	// Efforts are the reasoning efforts ModelConfig.Effort accepts; empty
	// for models that take only the bare id.
	Efforts []ModelEffort `json:"efforts,omitzero"`
	// DefaultEffort is the effort used when none is given.
	DefaultEffort ModelEffort `json:"default_effort,omitempty"`
	// DefaultContextWindow is the context window in tokens used when none
	// is given, such as 200000.
	DefaultContextWindow int `json:"default_context_window,omitempty"`
	// AvailableContextWindows are the context windows
	// ModelConfig.ContextWindow accepts.
	AvailableContextWindows []int `json:"available_context_windows,omitzero"`
	// MaxInputTokens is the largest input the model takes, in tokens.
	MaxInputTokens int `json:"max_input_tokens,omitempty"`

	// MaxTokens, CreatedAt, AllowedFallbackModels and Capabilities are
	// fields of the official SDK's model type that Qoder does not
	// document; they are zero unless the API sends them. Capabilities is
	// kept as raw JSON.
	MaxTokens             int             `json:"max_tokens,omitempty"`
	CreatedAt             time.Time       `json:"created_at,omitzero"`
	AllowedFallbackModels []string        `json:"allowed_fallback_models,omitzero"`
	Capabilities          json.RawMessage `json:"capabilities,omitzero"`
}

// ModelEffort is a reasoning effort level. It decodes from a string or
// from an object such as {"type":"high"}, and encodes as a string.
type ModelEffort string

// Reasoning effort levels; a model lists those it supports in
// Model.Efforts.
const (
	EffortNone   ModelEffort = "none"
	EffortLow    ModelEffort = "low"
	EffortMedium ModelEffort = "medium"
	EffortHigh   ModelEffort = "high"
	EffortXHigh  ModelEffort = "xhigh"
	EffortMax    ModelEffort = "max"
)

// UnmarshalJSON decodes an effort string or an object with a "type".
func (e *ModelEffort) UnmarshalJSON(data []byte) error {
	switch jsonKind(data) {
	case 'n':
		return nil
	case '{':
		var obj struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(data, &obj); err != nil {
			return err
		}
		*e = ModelEffort(obj.Type)
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	*e = ModelEffort(s)
	return nil
}

// ModelListParams page [ModelsService.List]. The API documents no
// parameters for this list; the official SDK sends these.
type ModelListParams struct {
	// Limit is the page size (1–1000).
	Limit int `url:"limit,omitempty"`
	// AfterID returns the models after this model id.
	AfterID string `url:"after_id,omitempty"`
	// BeforeID returns the models before this model id.
	BeforeID string `url:"before_id,omitempty"`
}
