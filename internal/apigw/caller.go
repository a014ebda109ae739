package apigw

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/breach-intake/intake/internal/audit"
	"github.com/breach-intake/intake/internal/breach"
)

// Principals, as the authorizer names them in its context and the audit trail records them.
const (
	principalOrganisation = "organisation"
	principalRegulator    = "regulator"
)

// regulatorsChain holds the regulators' reads that found no report: a chain must be named, and
// no organisation's is concerned. No organisation can have it for id: theirs hold no underscore
// (auth.ValidOrgID).
const regulatorsChain = "_regulators"

// caller is who made a request, as the gateway vouches for it.
type caller struct {
	principal string
	org       breach.OrgID // organisations only
	who       string       // the organisation's id, the regulator's name or its IAM ARN
	keyID     string       // the API key's id; for IAM, the access key id of the signed request
}

// organisation is the caller of an organisation route: the authorizer lets only organisation
// keys through there, always with their org_id, so anything else is a deployment fault.
func organisation(req events.APIGatewayV2HTTPRequest) (caller, bool) {
	org := authorizerContext(req, "org_id")
	if authorizerContext(req, "principal") != principalOrganisation || org == "" {
		return caller{}, false
	}
	return caller{principal: principalOrganisation, org: breach.OrgID(org), who: org, keyID: authorizerContext(req, "key_id")}, true
}

// regulator is the caller of the regulator route: in AWS the route is AWS_IAM and the gateway
// passes the SigV4 signer's identity; locally a regulator key goes through the Lambda authorizer.
// An organisation key never gets here (the authorizer refuses it on regulator routes): were one
// to, it is not a regulator.
func regulator(req events.APIGatewayV2HTTPRequest) (caller, bool) {
	if a := req.RequestContext.Authorizer; a != nil && a.IAM != nil && a.IAM.UserARN != "" {
		return caller{principal: principalRegulator, who: a.IAM.UserARN, keyID: a.IAM.AccessKey}, true
	}
	name := authorizerContext(req, "regulator")
	if authorizerContext(req, "principal") != principalRegulator || name == "" {
		return caller{}, false
	}
	return caller{principal: principalRegulator, who: name, keyID: authorizerContext(req, "key_id")}, true
}

const (
	errNoOrganisation = internalError("no organisation principal in the authorizer context")
	errNoRegulator    = internalError("no regulator principal in the request context")
)

// outcome is what the audit trail records of an answer.
type outcome struct {
	reportID string // as the path named it ("" for none), or as the answer did
	version  int    // read or written; 0 for none
	status   int
	code     string // the error code of a refusal or failure
}

// refused is the outcome of an answer to err, as errorResponse answers it.
func refused(err error, reportID string) outcome {
	var e *breach.Error
	if errors.As(err, &e) {
		if code, ok := status[e.Code]; ok {
			return outcome{reportID: reportID, status: code, code: string(e.Code)}
		}
	}
	return outcome{reportID: reportID, status: http.StatusInternalServerError, code: internalCode}
}

// result is the outcome as the trail writes it: the status, then the error code if any.
func (o outcome) result() string {
	r := strconv.Itoa(o.status)
	if o.code != "" {
		r += " " + o.code
	}
	return r
}

// record appends the answer to chain.
func record(ctx context.Context, trail *audit.Trail, chain string, c caller, req events.APIGatewayV2HTTPRequest, o outcome) error {
	_, err := trail.Append(ctx, audit.Entry{
		Chain:     chain,
		KeyID:     c.keyID,
		Principal: c.principal,
		ReportID:  o.reportID,
		RequestID: req.RequestContext.RequestID,
		Result:    o.result(),
		Route:     req.RouteKey,
		Version:   o.version,
		Who:       c.who,
	})
	return err
}

// mustTrail refuses to build a handler without an audit trail: every report route records its
// answers, and a handler that silently did not would be worse than none.
func mustTrail(trail *audit.Trail) {
	if trail == nil {
		panic("apigw: a report route needs an audit trail")
	}
}
