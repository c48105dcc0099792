// Command promql checks Crashline's Prometheus and Grafana files with Prometheus's own
// parsers, offline (tests/deploy builds it from the Go module cache):
//
//	promql rules FILE...  rule files, loaded as Prometheus loads them (unknown fields, bad
//	                      expressions and bad annotation templates are errors); prints
//	                      every rule with what its expression reads
//	promql exprs          a JSON list of PromQL expressions on stdin (a dashboard's
//	                      queries); prints what each one reads
//
// What an expression reads: the metric names it selects, the label names each selector
// matches on, and the label names it groups by (by, without, on, ignoring).
//
//	promql config FILE    a Prometheus configuration file (scrape configs with DNS or
//	                      Kubernetes discovery, rule files)
//
// Output is JSON on stdout; any error makes the exit status 1, with the errors on stderr.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"

	"github.com/prometheus/prometheus/config"
	_ "github.com/prometheus/prometheus/discovery/dns"        // dns_sd_configs (Compose)
	_ "github.com/prometheus/prometheus/discovery/kubernetes" // kubernetes_sd_configs
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// reads is what an expression reads.
type reads struct {
	Metrics []string            `json:"metrics"`
	Labels  map[string][]string `json:"labels"`   // metric -> labels its selectors match on
	Groups  []string            `json:"grouping"` // labels of by, without, on and ignoring
}

type rule struct {
	File  string `json:"file"`
	Group string `json:"group"`
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Expr  string `json:"expr"`
	reads
}

type expr struct {
	Expr string `json:"expr"`
	reads
	Error string `json:"error,omitempty"`
}

func sorted(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for item := range set {
		out = append(out, item)
	}
	sort.Strings(out)
	return out
}

// whatItReads parses an expression. A selector without a fixed metric name (a regular
// expression on __name__) is an error: nobody could say what it reads.
func whatItReads(input string) (reads, error) {
	parsed, err := parser.ParseExpr(input)
	if err != nil {
		return reads{}, err
	}
	metrics, groups := map[string]bool{}, map[string]bool{}
	matched := map[string]map[string]bool{}
	var problem error
	parser.Inspect(parsed, func(node parser.Node, _ []parser.Node) error {
		switch n := node.(type) {
		case *parser.AggregateExpr:
			for _, label := range n.Grouping {
				groups[label] = true
			}
		case *parser.BinaryExpr:
			if n.VectorMatching != nil {
				for _, label := range n.VectorMatching.MatchingLabels {
					groups[label] = true
				}
			}
		case *parser.VectorSelector:
			name := n.Name
			for _, m := range n.LabelMatchers {
				if m.Name == labels.MetricName && m.Type != labels.MatchEqual {
					problem = fmt.Errorf("selector %s does not name its metric", n)
				} else if m.Name == labels.MetricName {
					name = m.Value
				}
			}
			metrics[name] = true
			if matched[name] == nil {
				matched[name] = map[string]bool{}
			}
			for _, m := range n.LabelMatchers {
				if m.Name != labels.MetricName {
					matched[name][m.Name] = true
				}
			}
		}
		return nil
	})
	if problem != nil {
		return reads{}, problem
	}
	out := reads{Metrics: sorted(metrics), Labels: map[string][]string{}, Groups: sorted(groups)}
	for name, set := range matched {
		out.Labels[name] = sorted(set)
	}
	return out, nil
}

func checkRules(files []string) ([]rule, []error) {
	var out []rule
	var errs []error
	for _, file := range files {
		groups, problems := rulefmt.ParseFile(file, false)
		errs = append(errs, problems...)
		if groups == nil {
			continue
		}
		for _, group := range groups.Groups {
			for _, r := range group.Rules {
				kind, name := "alert", r.Alert
				if r.Record != "" {
					kind, name = "record", r.Record
				}
				read, err := whatItReads(r.Expr)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %s: %w", file, name, err))
				}
				out = append(out, rule{file, group.Name, name, kind, r.Expr, read})
			}
		}
	}
	return out, errs
}

func checkExprs(input io.Reader) ([]expr, []error) {
	var exprs []string
	if err := json.NewDecoder(input).Decode(&exprs); err != nil {
		return nil, []error{fmt.Errorf("stdin: a JSON list of strings: %w", err)}
	}
	out := make([]expr, 0, len(exprs))
	var errs []error
	for _, e := range exprs {
		read, err := whatItReads(e)
		item := expr{Expr: e, reads: read}
		if err != nil {
			item.Error = err.Error()
			errs = append(errs, fmt.Errorf("%q: %w", e, err))
		}
		out = append(out, item)
	}
	return out, errs
}

func checkConfig(file string) (any, []error) {
	cfg, err := config.LoadFile(file, false, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return nil, []error{err}
	}
	jobs := []string{}
	for _, scrape := range cfg.ScrapeConfigs {
		jobs = append(jobs, scrape.JobName)
	}
	return map[string]any{"scrape_jobs": jobs, "rule_files": cfg.RuleFiles}, nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: promql rules FILE... | exprs < exprs.json | config FILE")
		os.Exit(2)
	}
	var result any
	var errs []error
	switch args := os.Args[2:]; os.Args[1] {
	case "rules":
		result, errs = checkRules(args)
	case "exprs":
		result, errs = checkExprs(os.Stdin)
	case "config":
		if len(args) != 1 {
			fmt.Fprintln(os.Stderr, "usage: promql config FILE")
			os.Exit(2)
		}
		result, errs = checkConfig(args[0])
	default:
		fmt.Fprintf(os.Stderr, "promql: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
	if result != nil {
		if err := json.NewEncoder(os.Stdout).Encode(result); err != nil {
			errs = append(errs, err)
		}
	}
	for _, err := range errs {
		fmt.Fprintln(os.Stderr, err)
	}
	if len(errs) > 0 {
		os.Exit(1)
	}
}
