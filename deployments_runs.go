package qoder

import (
	"context"
	"iter"
	"net/http"
)

// DeploymentsRunsService reads the runs of one deployment. It is reached
// as client.Deployments.Runs; [DeploymentRunsService] reads runs across
// deployments.
type DeploymentsRunsService service

// Get retrieves a run of a deployment.
//
// API: GET /deployments/{deployment_id}/runs/{run_id}
func (s *DeploymentsRunsService) Get(ctx context.Context, deploymentID, runID string, opts ...RequestOption) (*DeploymentRun, error) {
	path, err := s.client.path("deployments/{deployment_id}/runs/{run_id}", deploymentID, runID)
	if err != nil {
		return nil, err
	}
	return invoke[DeploymentRun](ctx, s.client, http.MethodGet, path, nil, nil, opts)
}

// List returns one page of a deployment's runs, newest first. nil params
// means defaults; params.DeploymentID must be empty or deploymentID.
//
// API: GET /deployments/{deployment_id}/runs
func (s *DeploymentsRunsService) List(ctx context.Context, deploymentID string, params *DeploymentRunListParams, opts ...RequestOption) (*Page[DeploymentRun], error) {
	path, err := s.client.path("deployments/{deployment_id}/runs", deploymentID)
	if err != nil {
		return nil, err
	}
	if params != nil && params.DeploymentID != "" && params.DeploymentID != deploymentID {
		return nil, errInvalidParams("runs of deployment %q: params.DeploymentID is %q", deploymentID, params.DeploymentID)
	}
	return invoke[Page[DeploymentRun]](ctx, s.client, http.MethodGet, path, params, nil, opts)
}

// All iterates over every run of a deployment matching params, fetching
// pages as the loop needs them. params is not modified.
//
// API: GET /deployments/{deployment_id}/runs
func (s *DeploymentsRunsService) All(ctx context.Context, deploymentID string, params *DeploymentRunListParams, opts ...RequestOption) iter.Seq2[DeploymentRun, error] {
	return listAll(ctx, params, func(ctx context.Context, p *DeploymentRunListParams) (*Page[DeploymentRun], error) {
		return s.List(ctx, deploymentID, p, opts...)
	})
}
