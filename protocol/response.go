package protocol

import (
	"encoding/json"
	"fmt"
)

type wireResult struct {
	Target     string            `json:"target"`
	Value      *string           `json:"value"`
	Attributes map[string]string `json:"attributes"`
}

type wireResponse struct {
	Type    string       `json:"type"`
	Status  string       `json:"status"`
	Reason  string       `json:"reason"`
	Results []wireResult `json:"results"`
}

// DecodeResponse parses one response line (without its newline). Unknown
// fields are ignored so that clients keep working when the daemon adds fields.
func DecodeResponse(line []byte) (*Response, error) {
	var w wireResponse
	if err := json.Unmarshal(line, &w); err != nil {
		return nil, fmt.Errorf("decode response: %w", err)
	}
	if w.Type != TypeResponse {
		return nil, fmt.Errorf("decode response: type is %q, want %q", w.Type, TypeResponse)
	}
	resp := &Response{Status: Status(w.Status), Reason: Reason(w.Reason)}
	switch resp.Status {
	case StatusSuccess:
	case StatusDenied, StatusError:
		if resp.Reason == "" {
			return nil, fmt.Errorf("decode response: status %q without a reason", w.Status)
		}
	default:
		return nil, fmt.Errorf("decode response: unknown status %q", w.Status)
	}
	if len(w.Results) > 0 {
		resp.Results = make([]Result, len(w.Results))
		for i, wr := range w.Results {
			resp.Results[i] = Result{Target: wr.Target, Attributes: wr.Attributes}
			if wr.Value != nil {
				resp.Results[i].Value = *wr.Value
				resp.Results[i].HasValue = true
			}
		}
	}
	return resp, nil
}
