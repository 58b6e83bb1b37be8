package plot_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/fernb/fernb/fernb/plot"
)

// Training curves: loss and accuracy panels sharing series colours, saved
// as SVG for a paper and rendered as PNG for a notebook.
func ExampleCurves() {
	fig, err := plot.Curves(
		plot.Panel{Title: "loss", Series: []plot.Series{
			{Name: "train", Y: []float64{1.9, 1.2, 0.8, 0.6}, Dashed: true},
			{Name: "test", Y: []float64{1.9, 1.4, 1.1, 1.0}},
		}},
		plot.Panel{Title: "accuracy", YMin: 0, YMax: 1, Series: []plot.Series{
			{Name: "train", Y: []float64{0.3, 0.55, 0.7, 0.8}, Dashed: true},
			{Name: "test", Y: []float64{0.3, 0.5, 0.6, 0.65}},
		}},
	)
	if err != nil {
		log.Fatal(err)
	}
	dir, _ := os.MkdirTemp("", "fernb-example")
	defer os.RemoveAll(dir)
	if err := fig.Save(filepath.Join(dir, "curves.svg")); err != nil {
		log.Fatal(err)
	}
	png, err := fig.PNG(800, 0) // 800 pixels wide, aspect kept
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(png) > 0)
	// Output: true
}

// Labelled features and centroids projected to 2-D: fit the PCA on the
// labelled features, then project centroids and pool features with it.
func ExampleFitPCA() {
	// 4 vectors of dimension 3 along one direction.
	feats := []float32{1, 2, 0, 2, 4, 0, 3, 6, 0, 4, 8, 1}
	pca, err := plot.FitPCA(feats, 4, 3, 2)
	if err != nil {
		log.Fatal(err)
	}
	pts, err := pca.Project2D(feats, 4)
	if err != nil {
		log.Fatal(err)
	}
	fig, err := plot.Scatter(plot.ScatterSpec{
		ClassNames: []string{"Happy", "Sad"},
		Points:     pts, Labels: []int{0, 0, 1, 1},
		XLabel: "PC1", YLabel: "PC2",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%.2f of the variance on PC1; figure %.0fx%.0f pt\n", pca.ExplainedRatio()[0], fig.Width.Points(), fig.Height.Points())
	// Output: 0.99 of the variance on PC1; figure 497x352 pt
}
