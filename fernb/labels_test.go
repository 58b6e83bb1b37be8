package fernb

import (
	"strings"
	"testing"
)

func TestParseLabelSynonyms(t *testing.T) {
	cases := map[string]Label{
		"anger": Angry, "Angry": Angry, "disgusted": Disgust, "FEARFUL": Fear,
		"happiness": Happy, "sadness": Sad, "surprised": Surprise, "neutral": Neutral, "contempt": Contempt,
	}
	for in, want := range cases {
		got, err := ParseLabel(in)
		if err != nil || got != want {
			t.Errorf("ParseLabel(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseLabel("joy"); err == nil || !strings.Contains(err.Error(), "happiness") {
		t.Errorf("unknown class error should list known names, got %v", err)
	}
	for l := Label(0); l < NumLabels; l++ {
		back, err := ParseLabel(l.String())
		if err != nil || back != l {
			t.Errorf("round trip of %v gave %v, %v", l, back, err)
		}
	}
}
