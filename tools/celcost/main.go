// Command celcost reports the CEL cost of ValidatingAdmissionPolicies as kube-apiserver counts it.
//
// It compiles each policy with the packages the API server's ValidatingAdmissionPolicy
// plugin compiles it with (k8s.io/apiserver/pkg/admission/plugin/cel and
// pkg/cel/environment, the same base environment, libraries and strict cost), and reports:
//
//   - per expression, cel-go's static estimate under Kubernetes' cost estimator
//     (library.CostEstimator), once with object untyped, as the API server compiles it,
//     and once per governed kind with object typed by that kind's OpenAPI schema, as
//     kube-controller-manager's type checker types it (pkg/admission/plugin/policy/validating
//     typechecking.go); list and string bounds come from the schema and the 3 MiB
//     maximum request size (celconfig.MaxRequestSizeBytes), as for CRD rules;
//   - per object given, the actual cost: each expression's own (the figure the per-call
//     limit, celconfig.PerCallLimit, bounds) and the policy's total as the API server's
//     validator spends it against celconfig.RuntimeCELCostBudget (validations, then message
//     expressions, each with the variables they read), and the matchConditions' against
//     their own budget.
//
// Objects are decoded, defaulted and converted as the API server's create handler does
// (the legacy scheme of k8s.io/kubernetes), so the CEL sees the fields it would see.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"

	celgo "github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/interpreter"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/version"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/apiserver/pkg/admission"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/authentication/user"
	apiservercel "k8s.io/apiserver/pkg/cel"
	"k8s.io/apiserver/pkg/cel/common"
	"k8s.io/apiserver/pkg/cel/environment"
	"k8s.io/apiserver/pkg/cel/library"
	"k8s.io/apiserver/pkg/cel/openapi"
	"k8s.io/apiserver/pkg/cel/openapi/resolver"
	"k8s.io/apiserver/pkg/features"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/kubernetes/pkg/api/legacyscheme"
	_ "k8s.io/kubernetes/pkg/apis/apps/install"
	_ "k8s.io/kubernetes/pkg/apis/batch/install"
	_ "k8s.io/kubernetes/pkg/apis/core/install"
	generatedopenapi "k8s.io/kubernetes/pkg/generated/openapi"
)

// The groups whose kinds a policy's resources can name; the first version of each is the
// one the API server prefers, which an apiVersions "*" rule is type-checked against.
var servedVersions = []schema.GroupVersion{{Version: "v1"}, {Group: "apps", Version: "v1"}, {Group: "batch", Version: "v1"}}

type caseInput struct {
	Name        string          `json:"name"`
	Operation   string          `json:"operation"`
	SubResource string          `json:"subResource"`
	Namespace   string          `json:"namespace"`
	Object      json.RawMessage `json:"object"`
	OldObject   json.RawMessage `json:"oldObject"`
}

type estimate struct {
	Min   uint64 `json:"min"`
	Max   uint64 `json:"max"`
	Error string `json:"error,omitempty"`
}

type expressionReport struct {
	Field      string              `json:"field"`
	Name       string              `json:"name,omitempty"`
	Estimates  map[string]estimate `json:"estimates"`
	Expression string              `json:"-"`
}

type caseReport struct {
	Case            string   `json:"case"`
	Kind            string   `json:"kind,omitempty"`
	Refused         string   `json:"refused,omitempty"`
	Matched         bool     `json:"matched"`
	Total           int64    `json:"total"`
	MatchConditions int64    `json:"matchConditions"`
	Costs           []int64  `json:"costs"`
	Errors          []string `json:"errors"`
	Denied          bool     `json:"denied"`
}

type policyReport struct {
	Name           string              `json:"name"`
	Kinds          []string            `json:"kinds"`
	Expressions    []*expressionReport `json:"expressions"`
	EstimatedTotal map[string]uint64   `json:"estimatedTotal"`
	Cases          []caseReport        `json:"cases"`
}

type limits struct {
	PerExpression       int64 `json:"perExpression"`
	PerPolicy           int64 `json:"perPolicy"`
	MatchConditions     int64 `json:"matchConditions"`
	MaxRequestSizeBytes int64 `json:"maxRequestSizeBytes"`
}

type report struct {
	CompatibilityVersion string          `json:"celCompatibilityVersion"`
	StrictCost           bool            `json:"strictCost"`
	Limits               limits          `json:"limits"`
	Policies             []*policyReport `json:"policies"`
}

func main() {
	objectsFile := flag.String("objects", "", "YAML or JSON stream of cases {name, object, operation, subResource, namespace, oldObject} to evaluate")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: celcost [-objects FILE] POLICIES.yaml|-\n"+
			"Reports, as JSON, the CEL cost of each ValidatingAdmissionPolicy in POLICIES (other kinds are skipped).\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *objectsFile, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "celcost:", err)
		os.Exit(1)
	}
}

func run(policiesFile, objectsFile string, out io.Writer) error {
	policies, err := readPolicies(policiesFile)
	if err != nil {
		return err
	}
	var cases []caseInput
	if objectsFile != "" {
		if cases, err = readCases(objectsFile); err != nil {
			return err
		}
	}
	strictCost := utilfeature.DefaultFeatureGate.Enabled(features.StrictCostEnforcementForVAP)
	result := report{
		CompatibilityVersion: environment.DefaultCompatibilityVersion().String(),
		StrictCost:           strictCost,
		Limits: limits{celconfig.PerCallLimit, celconfig.RuntimeCELCostBudget,
			celconfig.RuntimeCELCostBudgetMatchConditions, celconfig.MaxRequestSizeBytes},
	}
	schemas := resolver.NewDefinitionsSchemaResolver(generatedopenapi.GetOpenAPIDefinitions, clientgoscheme.Scheme)
	decoded := make([]decodedCase, len(cases))
	for i, c := range cases {
		decoded[i] = decodeCase(c)
	}
	for _, policy := range policies {
		compiled := compilePolicy(policy, strictCost)
		pr := &policyReport{Name: policy.Name, Expressions: compiled.expressions, EstimatedTotal: map[string]uint64{}}
		kinds := policyKinds(policy)
		for _, gvk := range kinds {
			pr.Kinds = append(pr.Kinds, gvk.Kind)
		}
		estimateAll(policy, pr, kinds, schemas, strictCost)
		for _, c := range decoded {
			pr.Cases = append(pr.Cases, compiled.evaluate(policy, c))
		}
		result.Policies = append(result.Policies, pr)
	}
	encoder := json.NewEncoder(out)
	encoder.SetIndent("", " ")
	return encoder.Encode(result)
}

// --- input -----------------------------------------------------------------------------

func documents(path string) ([][]byte, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var found [][]byte
	for index := 0; ; index++ {
		var raw json.RawMessage
		if err := decoder.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return found, nil
			}
			return nil, fmt.Errorf("%s: document %d: not YAML or JSON: %v", path, index, err)
		}
		if len(raw) != 0 && string(raw) != "null" {
			found = append(found, raw)
		}
	}
}

func readPolicies(path string) ([]*admissionregistrationv1.ValidatingAdmissionPolicy, error) {
	docs, err := documents(path)
	if err != nil {
		return nil, err
	}
	var policies []*admissionregistrationv1.ValidatingAdmissionPolicy
	for index, doc := range docs {
		var head metav1.TypeMeta
		if err := json.Unmarshal(doc, &head); err != nil {
			return nil, fmt.Errorf("%s: document %d: expected a Kubernetes object: %v", path, index, err)
		}
		if head.Kind != "ValidatingAdmissionPolicy" {
			continue
		}
		policy := &admissionregistrationv1.ValidatingAdmissionPolicy{}
		strict := json.NewDecoder(bytes.NewReader(doc))
		strict.DisallowUnknownFields()
		if err := strict.Decode(policy); err != nil {
			return nil, fmt.Errorf("%s: document %d (%s): not a ValidatingAdmissionPolicy: %v", path, index, head.Kind, err)
		}
		if head.APIVersion != admissionregistrationv1.SchemeGroupVersion.String() {
			return nil, fmt.Errorf("%s: document %d (%s): apiVersion: expected %s, got %q", path, index, policy.Name,
				admissionregistrationv1.SchemeGroupVersion, head.APIVersion)
		}
		policies = append(policies, policy)
	}
	if len(policies) == 0 {
		return nil, fmt.Errorf("%s: no ValidatingAdmissionPolicy in it", path)
	}
	return policies, nil
}

func readCases(path string) ([]caseInput, error) {
	docs, err := documents(path)
	if err != nil {
		return nil, err
	}
	var cases []caseInput
	for index, doc := range docs {
		var c caseInput
		strict := json.NewDecoder(bytes.NewReader(doc))
		strict.DisallowUnknownFields()
		if err := strict.Decode(&c); err != nil {
			return nil, fmt.Errorf("%s: document %d: expected {name, object, operation, subResource, namespace, oldObject}: %v", path, index, err)
		}
		if c.Name == "" || len(c.Object) == 0 {
			return nil, fmt.Errorf("%s: document %d: name and object are required", path, index)
		}
		switch c.Operation {
		case "":
			c.Operation = string(admission.Create)
		case string(admission.Create), string(admission.Update):
		default:
			return nil, fmt.Errorf("%s: document %d (%s): operation: expected CREATE or UPDATE, got %q", path, index, c.Name, c.Operation)
		}
		cases = append(cases, c)
	}
	return cases, nil
}

type decodedCase struct {
	input      caseInput
	object     runtime.Object
	oldObject  runtime.Object
	gvk        schema.GroupVersionKind
	namespace  string
	name       string
	decodeFail string
}

// decodeCase gives the object as admission sees it: decoded into the internal version with
// the API server's defaults applied, then converted back to the version it was sent in.
func decodeCase(c caseInput) decodedCase {
	d := decodedCase{input: c}
	var err error
	if d.object, d.gvk, err = versioned(c.Object); err != nil {
		d.decodeFail = err.Error()
		return d
	}
	if len(c.OldObject) != 0 {
		if d.oldObject, _, err = versioned(c.OldObject); err != nil {
			d.decodeFail = "oldObject: " + err.Error()
			return d
		}
	}
	accessor, err := meta.Accessor(d.object)
	if err != nil {
		d.decodeFail = err.Error()
		return d
	}
	d.namespace, d.name = c.Namespace, accessor.GetName()
	if d.namespace == "" {
		d.namespace = accessor.GetNamespace()
	}
	if d.namespace == "" {
		d.namespace = metav1.NamespaceDefault
	}
	return d
}

func versioned(raw json.RawMessage) (runtime.Object, schema.GroupVersionKind, error) {
	internal, gvk, err := legacyscheme.Codecs.UniversalDecoder().Decode(raw, nil, nil)
	if err != nil {
		return nil, schema.GroupVersionKind{}, err
	}
	out, err := legacyscheme.Scheme.ConvertToVersion(internal, gvk.GroupVersion())
	if err != nil {
		return nil, schema.GroupVersionKind{}, err
	}
	return out, *gvk, nil
}

// --- compilation, as validating/plugin.go compilePolicy ----------------------------------

type compiledPolicy struct {
	expressions     []*expressionReport
	variables       []string
	validations     plugincel.ConditionEvaluator
	messages        plugincel.ConditionEvaluator
	matchConditions plugincel.ConditionEvaluator
	// Each expression's program alone, in the order of expressions, for its own cost.
	programs    []plugincel.CompilationResult
	composition *plugincel.CompositionEnv
}

func validationAccessors(policy *admissionregistrationv1.ValidatingAdmissionPolicy) (validations, messages []plugincel.ExpressionAccessor) {
	validations = make([]plugincel.ExpressionAccessor, len(policy.Spec.Validations))
	messages = make([]plugincel.ExpressionAccessor, len(policy.Spec.Validations))
	for i, v := range policy.Spec.Validations {
		validations[i] = &validating.ValidationCondition{Expression: v.Expression, Message: v.Message, Reason: v.Reason}
		if v.MessageExpression != "" {
			messages[i] = &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression}
		}
	}
	return validations, messages
}

func matchAccessors(policy *admissionregistrationv1.ValidatingAdmissionPolicy) []plugincel.ExpressionAccessor {
	accessors := make([]plugincel.ExpressionAccessor, len(policy.Spec.MatchConditions))
	for i := range policy.Spec.MatchConditions {
		accessors[i] = (*matchconditions.MatchCondition)(&policy.Spec.MatchConditions[i])
	}
	return accessors
}

func variableAccessors(policy *admissionregistrationv1.ValidatingAdmissionPolicy) []plugincel.NamedExpressionAccessor {
	accessors := make([]plugincel.NamedExpressionAccessor, len(policy.Spec.Variables))
	for i, v := range policy.Spec.Variables {
		accessors[i] = &validating.Variable{Name: v.Name, Expression: v.Expression}
	}
	return accessors
}

func declarations(policy *admissionregistrationv1.ValidatingAdmissionPolicy, strictCost, authorizer bool) plugincel.OptionalVariableDeclarations {
	return plugincel.OptionalVariableDeclarations{HasParams: policy.Spec.ParamKind != nil, HasAuthorizer: authorizer, StrictCost: strictCost}
}

func compilePolicy(policy *admissionregistrationv1.ValidatingAdmissionPolicy, strictCost bool) *compiledPolicy {
	template, err := plugincel.NewCompositionEnv(plugincel.VariablesTypeName, environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion(), strictCost))
	if err != nil {
		panic(err) // the API server panics here too: the base environment is fixed
	}
	compiler := plugincel.NewCompositedCompilerFromTemplate(template)
	optionalVars := declarations(policy, strictCost, true)
	expressionVars := declarations(policy, strictCost, false)
	compiler.CompileAndStoreVariables(variableAccessors(policy), optionalVars, environment.StoredExpressions)
	validations, messages := validationAccessors(policy)
	matches := matchAccessors(policy)
	c := &compiledPolicy{
		validations:     compiler.CompileCondition(validations, optionalVars, environment.StoredExpressions),
		messages:        compiler.CompileCondition(messages, expressionVars, environment.StoredExpressions),
		matchConditions: compiler.CompileCondition(matches, optionalVars, environment.StoredExpressions),
		composition:     compiler.CompositionEnv,
	}
	for i, v := range policy.Spec.Variables {
		c.variables = append(c.variables, v.Name)
		c.add(fmt.Sprintf("spec.variables[%d]", i), v.Name, v.Expression, compiler.CompositionEnv.CompiledVariables[v.Name])
	}
	for i, v := range policy.Spec.Validations {
		c.add(fmt.Sprintf("spec.validations[%d].expression", i), "", v.Expression,
			compiler.CompileCELExpression(validations[i], optionalVars, environment.StoredExpressions))
		if messages[i] != nil {
			c.add(fmt.Sprintf("spec.validations[%d].messageExpression", i), "", v.MessageExpression,
				compiler.CompileCELExpression(messages[i], expressionVars, environment.StoredExpressions))
		}
	}
	for i, m := range policy.Spec.MatchConditions {
		c.add(fmt.Sprintf("spec.matchConditions[%d]", i), m.Name, m.Expression,
			compiler.CompileCELExpression(matches[i], optionalVars, environment.StoredExpressions))
	}
	return c
}

func (c *compiledPolicy) add(field, name, expression string, result plugincel.CompilationResult) {
	c.expressions = append(c.expressions, &expressionReport{Field: field, Name: name, Expression: expression, Estimates: map[string]estimate{}})
	c.programs = append(c.programs, result)
}

// --- static estimates ----------------------------------------------------------------------

const untyped = "dyn"

// policyKinds are the kinds the policy's resource rules name, in the served version of
// their group (a rule for any group and version is read as the served ones).
func policyKinds(policy *admissionregistrationv1.ValidatingAdmissionPolicy) []schema.GroupVersionKind {
	seen := map[schema.GroupVersionKind]bool{}
	var kinds []schema.GroupVersionKind
	if policy.Spec.MatchConstraints == nil {
		return nil
	}
	for _, rule := range policy.Spec.MatchConstraints.ResourceRules {
		for _, resource := range rule.Resources {
			if strings.Contains(resource, "/") {
				continue
			}
			for _, gv := range servedVersions {
				if !ruleNames(rule.APIGroups, gv.Group) {
					continue
				}
				for kind := range legacyscheme.Scheme.KnownTypes(gv) {
					gvk := gv.WithKind(kind)
					plural, _ := meta.UnsafeGuessKindToResource(gvk)
					if plural.Resource == resource && !seen[gvk] {
						seen[gvk] = true
						kinds = append(kinds, gvk)
					}
				}
			}
		}
	}
	sort.Slice(kinds, func(i, j int) bool { return kinds[i].String() < kinds[j].String() })
	return kinds
}

func ruleNames(groups []string, group string) bool {
	for _, g := range groups {
		if g == "*" || g == group {
			return true
		}
	}
	return false
}

func estimateAll(policy *admissionregistrationv1.ValidatingAdmissionPolicy, pr *policyReport, kinds []schema.GroupVersionKind,
	schemas resolver.SchemaResolver, strictCost bool) {
	estimateFor(policy, pr, untyped, nil, strictCost)
	for _, gvk := range kinds {
		s, err := schemas.ResolveSchema(gvk)
		if err != nil {
			for _, e := range pr.Expressions {
				e.Estimates[gvk.Kind] = estimate{Error: "no schema: " + err.Error()}
			}
			continue
		}
		declType := common.SchemaDeclType(&openapi.Schema{Schema: s}, true).MaybeAssignTypeName(gvk.Kind + "0")
		estimateFor(policy, pr, gvk.Kind, declType, strictCost)
	}
}

// estimateFor compiles every expression in typechecking.go's environment (object typed by
// declType, or dyn when nil) and estimates it with Kubernetes' cost estimator.
func estimateFor(policy *admissionregistrationv1.ValidatingAdmissionPolicy, pr *policyReport, key string,
	declType *apiservercel.DeclType, strictCost bool) {
	envSet, err := typedEnvSet(declType, strictCost)
	if err == nil {
		var composition *plugincel.CompositionEnv
		if composition, err = plugincel.NewCompositionEnv(plugincel.VariablesTypeName, envSet); err == nil {
			estimateIn(composition, pr, key, declType)
			return
		}
	}
	for _, e := range pr.Expressions {
		e.Estimates[key] = estimate{Error: "environment: " + err.Error()}
	}
}

func estimateIn(composition *plugincel.CompositionEnv, pr *policyReport, key string, declType *apiservercel.DeclType) {
	estimator := &library.CostEstimator{SizeEstimator: &sizeEstimator{root: declType}}
	var total uint64
	for _, e := range pr.Expressions {
		env, err := composition.Env(environment.StoredExpressions)
		if err != nil {
			e.Estimates[key] = estimate{Error: err.Error()}
			continue
		}
		ast, issues := env.Compile(e.Expression)
		if strings.HasPrefix(e.Field, "spec.variables[") {
			var outputType *celgo.Type
			if issues == nil {
				outputType = ast.OutputType()
			}
			composition.AddField(e.Name, outputType)
		}
		if issues != nil {
			e.Estimates[key] = estimate{Error: issues.String()}
			total = math.MaxUint64
			continue
		}
		cost, err := env.EstimateCost(ast, estimator)
		if err != nil {
			e.Estimates[key] = estimate{Error: err.Error()}
			total = math.MaxUint64
			continue
		}
		e.Estimates[key] = estimate{Min: cost.Min, Max: cost.Max}
		total = addSaturating(total, cost.Max)
	}
	pr.EstimatedTotal[key] = total
}

func addSaturating(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}

// typedEnvSet is typechecking.go's buildEnvSet, with strict cost as the plugin has it.
func typedEnvSet(object *apiservercel.DeclType, strictCost bool) (*environment.EnvSet, error) {
	base := environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion(), strictCost)
	requestType, namespaceType := plugincel.BuildRequestType(), plugincel.BuildNamespaceType()
	objectType := celgo.DynType
	declTypes := []*apiservercel.DeclType{namespaceType, requestType}
	if object != nil {
		objectType = object.CelType()
		declTypes = append(declTypes, object)
	}
	return base.Extend(environment.VersionedOptions{
		IntroducedVersion: version.MajorMinor(1, 0),
		EnvOptions: []celgo.EnvOption{
			celgo.Variable(plugincel.NamespaceVarName, namespaceType.CelType()),
			celgo.Variable(plugincel.RequestVarName, requestType.CelType()),
			celgo.Variable(plugincel.ObjectVarName, objectType),
			celgo.Variable(plugincel.OldObjectVarName, objectType),
			celgo.Variable(plugincel.AuthorizerVarName, library.AuthorizerType),
		},
		DeclTypes: declTypes,
	})
}

// sizeEstimator bounds the size of object's fields by its schema's DeclType, as the
// apiextensions-apiserver's estimator bounds self for CRD rules; anything else is unknown.
type sizeEstimator struct {
	root *apiservercel.DeclType
}

func (s *sizeEstimator) EstimateSize(element checker.AstNode) *checker.SizeEstimate {
	path := element.Path()
	if s.root == nil || len(path) == 0 || (path[0] != plugincel.ObjectVarName && path[0] != plugincel.OldObjectVarName) {
		return nil
	}
	node := s.root
	for _, name := range path[1:] {
		switch name {
		case "@items", "@values":
			node = node.ElemType
		case "@keys":
			node = node.KeyType
		default:
			field, ok := node.Fields[name]
			if !ok {
				return nil
			}
			node = field.Type
		}
		if node == nil {
			return nil
		}
	}
	return &checker.SizeEstimate{Min: 0, Max: uint64(node.MaxElements)}
}

func (s *sizeEstimator) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// --- actual cost ----------------------------------------------------------------------------

func (c *compiledPolicy) evaluate(policy *admissionregistrationv1.ValidatingAdmissionPolicy, d decodedCase) caseReport {
	r := caseReport{Case: d.input.Name, Costs: make([]int64, len(c.expressions)), Errors: []string{}}
	for i := range r.Costs {
		r.Costs[i] = -1
	}
	if d.decodeFail != "" {
		r.Refused = d.decodeFail
		return r
	}
	r.Kind = d.gvk.Kind
	gvr, _ := meta.UnsafeGuessKindToResource(d.gvk)
	if !matchesResource(policy, gvr.Resource, d.input.SubResource) {
		return r
	}
	r.Matched = true
	attributes := admission.NewAttributesRecord(d.object, d.oldObject, d.gvk, d.namespace, d.name, gvr, d.input.SubResource,
		admission.Operation(d.input.Operation), nil, true, &user.DefaultInfo{Name: "winpod-guard-celcost"})
	versioned := &admission.VersionedAttributes{Attributes: attributes, VersionedObject: d.object, VersionedOldObject: d.oldObject, VersionedKind: d.gvk}
	request := plugincel.CreateAdmissionRequest(attributes, metav1.GroupVersionResource(gvr), metav1.GroupVersionKind(d.gvk))
	namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: d.namespace, Labels: map[string]string{corev1.LabelMetadataName: d.namespace}},
		Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
	// Each evaluator is a CompositedConditionEvaluator: it makes its own composition context
	// per ForInput, so each pass reads the variables afresh, as the validator's passes do.
	ctx := context.Background()

	// matchConditions: the webhook matcher's budget, no namespace object, as matcher.go passes them.
	matched := true
	if len(policy.Spec.MatchConditions) > 0 {
		budget := int64(celconfig.RuntimeCELCostBudgetMatchConditions)
		results, remaining, err := c.matchConditions.ForInput(ctx, versioned, request,
			plugincel.OptionalVariableBindings{}, nil, budget)
		r.MatchConditions = spent(budget, remaining)
		if err != nil {
			r.Errors = append(r.Errors, "matchConditions: "+err.Error())
			r.Denied = true // failurePolicy Fail
			matched = false
		}
		for _, result := range results {
			if result.Error != nil {
				r.Errors = append(r.Errors, "matchConditions: "+result.Error.Error())
				r.Denied = true
				matched = false
			} else if result.EvalResult != nil && result.EvalResult.Value() == false {
				matched = false
			}
		}
	}
	ns := plugincel.CreateNamespaceObject(namespace)
	if matched {
		budget := int64(celconfig.RuntimeCELCostBudget)
		results, remaining, err := c.validations.ForInput(ctx, versioned, request, plugincel.OptionalVariableBindings{}, ns, budget)
		if err != nil {
			r.Total = budget
			r.Errors = append(r.Errors, "validations: "+err.Error())
			r.Denied = true
		} else {
			for _, result := range results {
				if result.Error != nil {
					r.Errors = append(r.Errors, result.Error.Error())
					r.Denied = true
				} else if result.EvalResult != nil && result.EvalResult.Value() != true {
					r.Denied = true
				}
			}
			_, left, err := c.messages.ForInput(ctx, versioned, request, plugincel.OptionalVariableBindings{}, ns, remaining)
			if err != nil {
				r.Errors = append(r.Errors, "messageExpressions: "+err.Error())
				r.Denied = true
				left = 0
			}
			r.Total = spent(budget, left)
		}
	}
	c.ownCosts(r.Costs, d, request, ns, &r.Errors)
	sort.Strings(r.Errors)
	return r
}

func spent(budget, remaining int64) int64 {
	if remaining < 0 {
		return budget
	}
	return budget - remaining
}

func matchesResource(policy *admissionregistrationv1.ValidatingAdmissionPolicy, resource, subResource string) bool {
	want := resource
	if subResource != "" {
		want += "/" + subResource
	}
	if policy.Spec.MatchConstraints == nil {
		return false
	}
	for _, rule := range policy.Spec.MatchConstraints.ResourceRules {
		for _, r := range rule.Resources {
			if r == "*" || r == want || (subResource != "" && r == "*/"+subResource) {
				return true
			}
		}
	}
	return false
}

// ownCosts evaluates each expression's program alone, with the variables it reads served
// lazily as the API server serves them (their cost not counted in its own), and records the
// cost its own evaluation tracked: the figure celconfig.PerCallLimit bounds.
func (c *compiledPolicy) ownCosts(costs []int64, d decodedCase, request any, namespace *corev1.Namespace, problems *[]string) {
	act, err := newActivation(d, request, namespace)
	if err != nil {
		*problems = append(*problems, err.Error())
		return
	}
	composition := c.composition.CreateContext(context.Background())
	act.variables = composition.Variables(act)
	for i, result := range c.programs {
		if result.Program == nil {
			if result.Error != nil {
				*problems = append(*problems, c.expressions[i].Field+": "+result.Error.Error())
			}
			continue
		}
		_, details, err := result.Program.ContextEval(composition, act)
		if details != nil && details.ActualCost() != nil {
			costs[i] = int64(min(*details.ActualCost(), uint64(math.MaxInt64)))
		}
		if err != nil && strings.Contains(err.Error(), "cost") {
			*problems = append(*problems, c.expressions[i].Field+": "+err.Error())
		}
	}
}

type activation struct {
	object, oldObject, request, namespace, variables any
}

func newActivation(d decodedCase, request any, namespace *corev1.Namespace) (*activation, error) {
	a := &activation{}
	var err error
	if a.object, err = toUnstructured(d.object); err != nil {
		return nil, fmt.Errorf("object: %w", err)
	}
	if a.oldObject, err = toUnstructured(d.oldObject); err != nil {
		return nil, fmt.Errorf("oldObject: %w", err)
	}
	if a.request, err = runtime.DefaultUnstructuredConverter.ToUnstructured(request); err != nil {
		return nil, fmt.Errorf("request: %w", err)
	}
	if a.namespace, err = toUnstructured(namespace); err != nil {
		return nil, fmt.Errorf("namespace: %w", err)
	}
	return a, nil
}

func toUnstructured(obj runtime.Object) (any, error) {
	if obj == nil {
		return nil, nil
	}
	return runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
}

// ResolveName binds the names activation.go binds (params and the authorizer are unbound:
// the generated policies have no paramKind and read no authorizer).
func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case plugincel.ObjectVarName:
		return a.object, true
	case plugincel.OldObjectVarName:
		return a.oldObject, true
	case plugincel.RequestVarName:
		return a.request, true
	case plugincel.NamespaceVarName:
		return a.namespace, true
	case plugincel.VariableVarName:
		return a.variables, true
	case plugincel.ParamsVarName:
		return nil, true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

var _ interpreter.Activation = (*activation)(nil)
