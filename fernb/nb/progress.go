package nb

import (
	"fmt"
	"html"
	"strings"
	"sync"
	"time"
)

// Progress reports a long run (training, pool scoring, distillation) as a
// single status line. In a notebook the line is one HTML output block that
// is rewritten in place (gonbui.UpdateHTML with an id fixed per reporter),
// which works when the notebook runs headless under nbconvert, unlike
// widgets; Done replaces it with a summary, which the saved notebook keeps. Outside a notebook it
// writes plain text lines to Out. Updates are rate limited (Every) so a
// fast loop neither floods a saved notebook nor slows the run; a stage
// change and a stage's last step are always shown.
//
// Progress is safe for concurrent use. Display errors never interrupt the
// run: the first one is kept and returned by Err.
type Progress struct {
	// Every is the minimum time between two displayed updates
	// (default 500ms in a notebook, 5s for text).
	Every time.Duration

	mu         sync.Mutex
	d          *Display
	title, id  string
	start      time.Time
	stage      string
	stageStart time.Time
	last       time.Time // last displayed update
	lastCall   time.Time // last Update call, displayed or not
	shown      bool
	err        error
	now        func() time.Time
}

// NewProgress returns a progress reporter titled title.
func (d *Display) NewProgress(title string) *Progress {
	p := &Progress{d: d, title: title, now: time.Now, Every: 5 * time.Second}
	if d.fe != nil {
		p.id = "fernb-progress-" + d.fe.UniqueID()
		p.Every = 500 * time.Millisecond
	}
	p.start = p.now()
	p.stageStart, p.lastCall = p.start, p.start
	return p
}

// NewProgress is Default().NewProgress.
func NewProgress(title string) *Progress { return Default().NewProgress(title) }

// Update reports that done of total steps of stage are finished (total <= 0
// when unknown). It is cheap enough to call every step.
func (p *Progress) Update(stage string, done, total int) { p.UpdateWith(stage, done, total, "") }

// UpdateWith is Update with a detail shown after the counts (e.g. the
// running loss). A new stage restarts the ETA estimate and is always
// shown; a new detail alone is not, so a detail may change every step.
// To show train.Fit's progress:
//
//	pr := nb.NewProgress("train")
//	report := func(p train.Progress) {
//		pr.UpdateWith(fmt.Sprintf("epoch %d/%d", p.Epoch, p.Epochs), p.Step, p.Steps,
//			fmt.Sprintf("loss %.3f acc %.1f%%", p.Loss, 100*p.Acc))
//	}
func (p *Progress) UpdateWith(stage string, done, total int, detail string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	changed := stage != p.stage
	if changed {
		// The stage began when the previous call (or the reporter) ended,
		// since the first Update of a stage comes after its first step.
		p.stage, p.stageStart = stage, p.lastCall
	}
	p.lastCall = now
	final := total > 0 && done >= total
	if !changed && !final && p.shown && now.Sub(p.last) < p.Every {
		return
	}
	p.last, p.shown = now, true
	line := p.line(stage, done, total, now)
	if detail != "" {
		line += " | " + detail
	}
	if p.d.fe != nil {
		p.d.fe.UpdateHTML(p.id, progressHTML(line, done, total))
		p.keep(p.d.feErr("progress"))
		return
	}
	p.keep(p.d.printf("%s\n", line))
}

// Done ends the report with a summary line (e.g. "test accuracy 81.2%"):
// in a notebook it replaces the progress block, outside one it is the last
// text line. It returns Err.
func (p *Progress) Done(summary string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	line := fmt.Sprintf("%s: done in %s", p.title, fmtDur(p.now().Sub(p.start)))
	if summary != "" {
		line += ", " + summary
	}
	if p.d.fe != nil {
		final := `<div style="font-family:monospace">` + html.EscapeString(line) + `</div>`
		if p.shown {
			// The updated block is what Jupyter saves in the notebook
			// (checked with nbconvert --execute), so the summary replaces
			// the progress line in place rather than leaving an empty
			// output behind it.
			p.d.fe.UpdateHTML(p.id, final)
		} else {
			p.d.fe.HTML(final)
		}
		p.keep(p.d.feErr("progress"))
	} else {
		p.keep(p.d.printf("%s\n", line))
	}
	return p.err
}

// Err returns the first error met while displaying progress, if any.
func (p *Progress) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (p *Progress) keep(err error) {
	if p.err == nil {
		p.err = err
	}
}

// line formats "title | stage 12/100 (12%) elapsed 0:23 ETA 2:45".
func (p *Progress) line(stage string, done, total int, now time.Time) string {
	var b strings.Builder
	b.WriteString(p.title)
	if stage != "" {
		b.WriteString(" | " + stage)
	}
	if total > 0 {
		fmt.Fprintf(&b, " %d/%d (%.0f%%)", done, total, 100*float64(done)/float64(total))
	} else if done > 0 {
		fmt.Fprintf(&b, " %d", done)
	}
	fmt.Fprintf(&b, " elapsed %s", fmtDur(now.Sub(p.start)))
	if total > 0 && done > 0 && done < total {
		per := now.Sub(p.stageStart) / time.Duration(done)
		fmt.Fprintf(&b, " ETA %s", fmtDur(per*time.Duration(total-done)))
	}
	return b.String()
}

func progressHTML(line string, done, total int) string {
	bar := ""
	if total > 0 {
		bar = fmt.Sprintf(`<progress value="%d" max="%d" style="width:12em;margin-right:0.6em"></progress>`, min(done, total), total)
	}
	return `<div style="font-family:monospace">` + bar + html.EscapeString(line) + `</div>`
}

// fmtDur formats a duration as m:ss or h:mm:ss.
func fmtDur(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	if s < 0 {
		s = 0
	}
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
