package qodertest

import "net/http"

// model is an entry of GET /models.
type model struct {
	ID                      string   `json:"id"`
	Type                    string   `json:"type"`
	DisplayName             string   `json:"display_name"`
	Source                  string   `json:"source"`
	IsEnabled               bool     `json:"is_enabled"`
	IsNew                   bool     `json:"is_new"`
	PriceFactor             float64  `json:"price_factor,omitempty"`
	Efforts                 []string `json:"efforts,omitempty"`
	DefaultEffort           string   `json:"default_effort,omitempty"`
	MaxInputTokens          int      `json:"max_input_tokens,omitempty"`
	DefaultContextWindow    int      `json:"default_context_window,omitempty"`
	AvailableContextWindows []int    `json:"available_context_windows,omitempty"`
}

// models is the fake's catalog: the two models the docs name. "auto" has
// no efforts, so agents may only name it as a plain string.
var models = []model{
	{
		ID: "ultimate", Type: "model", DisplayName: "Ultimate", Source: "system",
		IsEnabled: true, PriceFactor: 1.6,
		Efforts:                 []string{"low", "medium", "high", "xhigh", "max"},
		DefaultEffort:           "high",
		MaxInputTokens:          1000000,
		DefaultContextWindow:    200000,
		AvailableContextWindows: []int{200000, 400000, 1000000},
	},
	{
		ID: "auto", Type: "model", DisplayName: "Auto", Source: "system",
		IsEnabled: true, PriceFactor: 1,
	},
}

func findModel(id string) (model, bool) {
	for _, m := range models {
		if m.ID == id {
			return m, true
		}
	}
	return model{}, false
}

// listModels serves GET /models: not paginated, has_more always false.
func (s *Server) listModels(*call) (int, any) {
	data := make([]any, len(models))
	for i, m := range models {
		data[i] = m
	}
	return http.StatusOK, map[string]any{"data": data, "has_more": false}
}
