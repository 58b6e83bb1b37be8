package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/fernb/fernb/fernb/distill"
	"github.com/fernb/fernb/fernb/experiment"
	"github.com/fernb/fernb/fernb/nb"
)

func init() {
	extraCommands = append(extraCommands, command{"reproduce",
		"run the whole omni-supervised pipeline (synthetic default, or the paper's Table N with --data-dir) and write results/", runReproduce})
}

const reproduceUsage = `usage:
  fernb reproduce [--out results] [--quick]
      runs the whole pipeline on the embedded synthetic faces (a stand-in, not
      the paper's data): primitive learner on the lab anchor, cosine-margin
      selection on the synthetic pool (VAS), distillation (DAS), training with
      VAS and with DAS over several seeds, evaluation on lab (inner) and wild
      (cross) test faces. Prints the table and writes results.json, results.md,
      report.md and figures/ (PNG and SVG) to --out.
  fernb reproduce --data-dir DIR --table N [--model vgg-face|resnet34|fer-cnn] [...]
      runs the setting of the paper's Table N (1-7) on real data laid out as
      data/README.md says, with the paper's recipe by default.
Interrupted runs resume: checkpoints, manifests and distilled sets are cached
under --out/cache and reused by a re-run with the same settings.`

func runReproduce(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reproduce", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, reproduceUsage); fs.PrintDefaults() }
	out := fs.String("out", "results", "output directory (results.json, report.md, figures/, cache/)")
	quick := fs.Bool("quick", false, "tiny data and few epochs (what tests and FERNB_QUICK=1 notebooks run)")
	dataDir := fs.String("data-dir", "", "directory holding the real data sets (see data/README.md); empty: the synthetic default")
	table := fs.Int("table", 0, "the paper's table to reproduce on real data (1-7; needs --data-dir)")
	model := fs.String("model", "", "model: vgg-face (paper, default with --table), resnet34 (paper), or fer-cnn (CPU-sized)")
	epochs := fs.Int("epochs", 0, "training epochs (0: the setting's default; the paper's is 25)")
	seeds := fs.String("seeds", "", "comma-separated training seeds (default: the setting's)")
	variants := fs.String("variants", "", "comma-separated variants among baseline,vas,das (default all)")
	margin := fs.Float64("margin", 0, "cosine margin of the selection (0: the setting's default)")
	method := fs.String("distill", "", "distillation method: dm (default, faster) or dd")
	iters := fs.Int("distill-iters", 0, "distillation outer iterations (0: the setting's default)")
	dsa := fs.String("dsa", "", "on or off: DM with differentiable Siamese augmentation, and training on its DAS under it (default: the setting's; on for the synthetic default; dd never uses it)")
	folds := fs.String("folds", "", "with --table 4-7: evaluate inside the target set instead of across sets: kfold (10 subject-independent folds, as CK+ in Table 3) or loso (leave one subject out, the JAFFE protocol)")
	limit := fs.Int("limit", 0, "keep at most this many images of every labelled set (stratified; for smoke runs on real data)")
	align := addAlignFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("reproduce: unexpected arguments %q", fs.Args())
	}
	var cfg experiment.Config
	switch {
	case *table != 0 && *dataDir == "":
		return errors.New("reproduce: --table needs --data-dir (the real data sets); without both it runs the synthetic default")
	case *dataDir != "":
		if *table == 0 {
			return errors.New("reproduce: --data-dir needs --table N (1-7)")
		}
		var err error
		if cfg, err = experiment.TableConfig(*table, *dataDir, *out, *model); err != nil {
			if errors.Is(err, experiment.ErrDataMissing) {
				return fmt.Errorf("reproduce: %w\n(run `fernb reproduce` without --data-dir for the synthetic stand-in)", err)
			}
			return fmt.Errorf("reproduce: %w", err)
		}
		cfg.AllowRealImages = true // results/ is local and git-ignored
		if *folds != "" {
			kind := experiment.ProtocolKind(*folds)
			if kind != experiment.KFold && kind != experiment.LOSO || len(cfg.Setup.Tests) != 1 || cfg.Setup.Tests[0].Kind != experiment.Cross {
				return fmt.Errorf("reproduce: --folds takes kfold or loso, with a cross-dataset table (4-7)")
			}
			target := cfg.Setup.Tests[0].Source
			target.Split = ""
			cfg.Setup.Train, cfg.Setup.Tests = target, nil
			cfg.Setup.Folded = experiment.Protocol{Kind: kind, K: 10, Seed: 1}
			cfg.Setup.Title = target.Name + ", " + cfg.Setup.Folded.String()
		}
	default:
		if *folds != "" {
			return errors.New("reproduce: --folds needs --data-dir and --table")
		}
		if *model != "" && *model != "fer-cnn" {
			return fmt.Errorf("reproduce: the synthetic default uses fer-cnn; --model %s needs --data-dir and --table", *model)
		}
		cfg = experiment.SyntheticConfig(*out, *quick)
	}
	if *quick {
		cfg.Quick = true
		if *dataDir != "" {
			cfg.Train.Epochs = min(cfg.Train.Epochs, 2)
		}
	}
	if *epochs > 0 {
		cfg.Train.Epochs = *epochs
	}
	if *seeds != "" {
		cfg.Seeds = nil
		for _, s := range strings.Split(*seeds, ",") {
			v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil {
				return fmt.Errorf("reproduce: --seeds: %q is not an integer", s)
			}
			cfg.Seeds = append(cfg.Seeds, v)
		}
	}
	if *variants != "" {
		cfg.Variants = nil
		for _, s := range strings.Split(*variants, ",") {
			v, err := experiment.ParseVariant(s)
			if err != nil {
				return fmt.Errorf("reproduce: --variants: %w", err)
			}
			cfg.Variants = append(cfg.Variants, v)
		}
	}
	if *margin > 0 {
		cfg.Selection.Margin = *margin
	}
	if *method != "" {
		m, err := distill.ParseMethod(*method)
		if err != nil {
			return fmt.Errorf("reproduce: %w", err)
		}
		cfg.Distill.Method = m
	}
	if *iters > 0 {
		cfg.Distill.Iterations = *iters
	}
	switch *dsa {
	case "":
	case "on":
		cfg.Distill.DSA = true
	case "off":
		cfg.Distill.DSA = false
	default:
		return fmt.Errorf("reproduce: --dsa %q, want on or off", *dsa)
	}
	if cfg.Distill.Method == distill.DD {
		if *dsa == "on" {
			return errors.New("reproduce: --dsa on needs --distill dm (DSA is implemented for DM only)")
		}
		cfg.Distill.DSA = false
	}
	cfg.Limit = *limit
	if err := align.apply(&cfg.Preprocess); err != nil {
		return err
	}
	pr := nb.New(stderr).Watch(&cfg, "reproduce")
	p, err := experiment.NewPipeline(cfg)
	if err != nil {
		return fmt.Errorf("reproduce: %w", err)
	}
	defer p.Close()
	res, err := p.Run(ctx)
	if err != nil {
		return fmt.Errorf("reproduce: %w", err)
	}
	pr.Done("finished")
	fmt.Fprint(stdout, res.Text())
	fmt.Fprintf(stdout, "wall time %.0f s; results in %s (results.json, report.md, figures/)\n", res.WallSeconds, cfg.OutDir)
	return nil
}
