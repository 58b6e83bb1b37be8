// Package dataset reads facial-expression data sets in the formats in which
// they are distributed (folder trees, FER-2013 and FER+ CSVs, RAF-DB, CK+,
// JAFFE, MMI frame exports, unlabelled pools and MXNet RecordIO), straight
// from a directory or a .tar/.tar.gz/.zip archive, and turns them into
// float32 NHWC Tensors.
//
// Every format maps its own label codes onto fernb's one label space, so a
// model trained on one data set can be evaluated on another over the classes
// both share. Researchers receive data sets as archives and in odd layouts;
// reading them as shipped (without extracting or converting) keeps runs
// reproducible from the original files, and a load Report says exactly which
// files were skipped and why, so that a corrupt image costs one image and
// never a run. For data sets of whole photographs, Preprocess.Align cuts
// out the face first (package face), and the Report lists the images in
// which none was found.
package dataset
