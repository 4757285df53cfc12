#!/usr/bin/python3
"""Trains small scikit-learn models on sklearn's bundled datasets and exports them to ONNX-ML.

There is no skl2onnx here, so the conversion is written out with onnx.helper. For every model it
writes OUTDIR/<name>/:

  model.onnx              the converted model (domain ai.onnx.ml)
  input.npy               float32 test rows (single-input models); inputs/<name>.npy for every
                          graph input (strings are stored as NumPy unicode arrays)
  expected_label.npy      sklearn's predict() (classifiers)
  expected_proba.npy      sklearn's predict_proba(), or decision_function() for models whose
                          second output is a decision score (LinearSVC, SVC without probability)
  expected_value.npy      sklearn's predict() as float [N, 1] (regressors)
  meta.json               graph input -> file, graph output -> expected file, for the checker
  test_data_set_0/        the same in ONNX backend-test format (input_i.pb, output_i.pb), so that
                          `nalar_conformance --data OUTDIR` runs them too

Usage: /usr/bin/python3 models/tabular/make_sklearn_models.py [OUTDIR]  (default tests/data/tabular)
Check with models/tabular/check_sklearn_models.py OUTDIR build/nalar.
"""
import json
import os
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn import datasets
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (GradientBoostingClassifier, GradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import Binarizer, Normalizer, OneHotEncoder, StandardScaler
from sklearn.svm import SVC, SVR, LinearSVC
from sklearn.tree import DecisionTreeRegressor

ML = "ai.onnx.ml"
SEED = 0


# ---------------------------------------------------------------- helpers


def f32_down(t):
    """Largest float32 <= t: for float32 x, x <= t exactly when x <= f32_down(t)."""
    f = np.float32(t)
    if float(f) > float(t):
        f = np.nextafter(f, np.float32(-np.inf))
    return float(f)


def dtensor(name, values):
    return numpy_helper.from_array(np.asarray(values, dtype=np.float64), name)


def make_model(nodes, inputs, outputs, initializers=(), ml_opset=3):
    graph = helper.make_graph(nodes, "sklearn", inputs, outputs, initializer=list(initializers))
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(ML, ml_opset)],
        producer_name="nalar-make-sklearn-models")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def float_input(name, n_features):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [None, n_features])


def label_output(name, strings):
    return helper.make_tensor_value_info(name, TensorProto.STRING if strings else TensorProto.INT64,
                                         [None])


def score_output(name, n):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [None, n])


def class_label_attrs(classes):
    if np.asarray(classes).dtype.kind in "US":
        return {"classlabels_strings": [str(c) for c in classes]}, True
    return {"classlabels_int64s": [int(c) for c in classes]}, False


def save_case(outdir, name, model, inputs, expected):
    """inputs: [(graph input name, array)], expected: [(graph output name, file stem, array)]."""
    d = os.path.join(outdir, name)
    os.makedirs(os.path.join(d, "inputs"), exist_ok=True)
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    onnx.save(model, os.path.join(d, "model.onnx"))
    meta = {"inputs": {}, "outputs": {}}
    for i, (iname, arr) in enumerate(inputs):
        np.save(os.path.join(d, "inputs", iname + ".npy"), arr)
        meta["inputs"][iname] = "inputs/%s.npy" % iname
        pb = arr.astype(object) if arr.dtype.kind == "U" else arr
        t = numpy_helper.from_array(pb, iname)
        with open(os.path.join(d, "test_data_set_0", "input_%d.pb" % i), "wb") as f:
            f.write(t.SerializeToString())
    if len(inputs) == 1:
        np.save(os.path.join(d, "input.npy"), inputs[0][1])
    for i, (oname, stem, arr) in enumerate(expected):
        np.save(os.path.join(d, stem + ".npy"), arr)
        meta["outputs"][oname] = stem + ".npy"
        pb = arr.astype(object) if arr.dtype.kind == "U" else arr
        t = numpy_helper.from_array(pb, oname)
        with open(os.path.join(d, "test_data_set_0", "output_%d.pb" % i), "wb") as f:
            f.write(t.SerializeToString())
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)


def classifier_expected(clf, x, scores=None):
    label = clf.predict(x)
    label = label.astype(np.str_) if label.dtype.kind in "OUS" else label.astype(np.int64)
    proba = clf.predict_proba(x) if scores is None else scores
    return [("label", "expected_label", label),
            ("probabilities", "expected_proba", np.asarray(proba, dtype=np.float32))]


def regressor_expected(reg, x):
    y = np.asarray(reg.predict(x), dtype=np.float64).reshape(len(x), -1)
    return [("variable", "expected_value", y.astype(np.float32))]


def split(x, y, n_test=60):
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=n_test, random_state=SEED, stratify=None)
    return xtr.astype(np.float32), xte.astype(np.float32), ytr, yte


# ---------------------------------------------------------------- trees


class TreeAttrs:
    """Collects nodes_* and leaf vote attributes of a tree ensemble."""

    def __init__(self, prefix, as_double):
        self.prefix = prefix
        self.as_double = as_double
        self.n = {k: [] for k in ("treeids", "nodeids", "featureids", "values", "modes",
                                  "truenodeids", "falsenodeids")}
        self.v = {k: [] for k in ("treeids", "nodeids", "ids", "weights")}

    def add_tree(self, tree, tree_id, leaf_votes):
        """leaf_votes(node) -> [(target or class id, weight)]."""
        t = tree.tree_
        for i in range(t.node_count):
            left, right = t.children_left[i], t.children_right[i]
            self.n["treeids"].append(tree_id)
            self.n["nodeids"].append(i)
            if left == -1:
                self.n["featureids"].append(0)
                self.n["values"].append(0.0)
                self.n["modes"].append("LEAF")
                self.n["truenodeids"].append(0)
                self.n["falsenodeids"].append(0)
                for cid, w in leaf_votes(i):
                    self.v["treeids"].append(tree_id)
                    self.v["nodeids"].append(i)
                    self.v["ids"].append(int(cid))
                    self.v["weights"].append(float(w))
            else:
                thr = float(t.threshold[i])
                self.n["featureids"].append(int(t.feature[i]))
                self.n["values"].append(thr if self.as_double else f32_down(thr))
                self.n["modes"].append("BRANCH_LEQ")
                self.n["truenodeids"].append(int(left))
                self.n["falsenodeids"].append(int(right))

    def attrs(self):
        a = {"nodes_" + k: v for k, v in self.n.items() if k != "values"}
        p = self.prefix
        a.update({p + "_" + k: v for k, v in self.v.items() if k != "weights"})
        if self.as_double:
            a["nodes_values_as_tensor"] = dtensor("nodes_values", self.n["values"])
            a[p + "_weights_as_tensor"] = dtensor(p + "_weights", self.v["weights"])
        else:
            a["nodes_values"] = self.n["values"]
            a[p + "_weights"] = self.v["weights"]
        return a


def tree_regressor_model(trees, n_features, weight_scale, base, aggregate, as_double):
    ta = TreeAttrs("target", as_double)
    for k, tree in enumerate(trees):
        vals = tree.tree_.value
        ta.add_tree(tree, k, lambda i, vals=vals: [(0, weight_scale * vals[i][0][0])])
    attrs = ta.attrs()
    if base is not None:
        if as_double:
            attrs["base_values_as_tensor"] = dtensor("base_values", [base])
        else:
            attrs["base_values"] = [float(base)]
    node = helper.make_node("TreeEnsembleRegressor", ["input"], ["variable"], domain=ML,
                            n_targets=1, aggregate_function=aggregate, **attrs)
    return make_model([node], [float_input("input", n_features)], [score_output("variable", 1)])


def tree_classifier_model(attrs, classes, n_features, post, base=None):
    lab, strings = class_label_attrs(classes)
    if base is not None:
        attrs["base_values"] = [float(b) for b in base]
    node = helper.make_node("TreeEnsembleClassifier", ["input"], ["label", "probabilities"],
                            domain=ML, post_transform=post, **attrs, **lab)
    return make_model([node], [float_input("input", n_features)],
                      [label_output("label", strings), score_output("probabilities", len(classes))])


def convert_gbc(gb, n_features):
    k = gb.estimators_.shape[1]
    ta = TreeAttrs("class", False)
    tid = 0
    lr = gb.learning_rate
    for stage in gb.estimators_:
        for c, tree in enumerate(stage):
            vals = tree.tree_.value
            ta.add_tree(tree, tid, lambda i, vals=vals, c=c: [(c, lr * vals[i][0][0])])
            tid += 1
    base = gb._raw_predict_init(np.zeros((1, n_features), dtype=np.float32))[0]
    post = "LOGISTIC" if k == 1 else "SOFTMAX"
    return tree_classifier_model(ta.attrs(), gb.classes_, n_features, post, base)


def convert_rfc(rf, n_features):
    ta = TreeAttrs("class", False)
    n = len(rf.estimators_)
    for tid, tree in enumerate(rf.estimators_):
        vals = tree.tree_.value

        def votes(i, vals=vals):
            v = vals[i][0]
            p = v / v.sum()
            return [(c, p[c] / n) for c in range(len(p))]

        ta.add_tree(tree, tid, votes)
    return tree_classifier_model(ta.attrs(), rf.classes_, n_features, "NONE")


# ---------------------------------------------------------------- linear and SVM


def linear_classifier_node(inp, coef, intercept, classes, post):
    lab, strings = class_label_attrs(classes)
    ints = {"classlabels_ints": lab["classlabels_int64s"]} if not strings else lab
    return helper.make_node("LinearClassifier", [inp], ["label", "probabilities"], domain=ML,
                            coefficients=[float(c) for c in np.ravel(coef)],
                            intercepts=[float(c) for c in np.ravel(intercept)],
                            post_transform=post, multi_class=0, **ints), strings


def convert_logreg(lr, n_features, inp="input"):
    binary = len(lr.classes_) == 2
    node, strings = linear_classifier_node(inp, lr.coef_, lr.intercept_, lr.classes_,
                                           "LOGISTIC" if binary else "SOFTMAX")
    return node, [label_output("label", strings),
                  score_output("probabilities", len(lr.classes_))]


def svm_kernel_attrs(svm):
    gamma = float(svm._gamma)
    return {"kernel_type": svm.kernel.upper(),
            "kernel_params": [gamma, float(svm.coef0), float(svm.degree)]}


def convert_svc(svc, n_features):
    # libsvm's own sign convention: sklearn's private _dual_coef_ / _intercept_ (not flipped for
    # two classes). rho is added to the decision sum.
    lab, strings = class_label_attrs(svc.classes_)
    ints = {"classlabels_ints": lab["classlabels_int64s"]} if not strings else lab
    attrs = dict(svm_kernel_attrs(svc))
    attrs.update(
        vectors_per_class=[int(v) for v in svc.n_support_],
        support_vectors=[float(v) for v in svc.support_vectors_.ravel()],
        coefficients=[float(v) for v in svc._dual_coef_.ravel()],
        rho=[float(v) for v in svc._intercept_])
    if svc.probability:
        attrs["prob_a"] = [float(v) for v in svc._probA]
        attrs["prob_b"] = [float(v) for v in svc._probB]
    node = helper.make_node("SVMClassifier", ["input"], ["label", "probabilities"], domain=ML,
                            post_transform="NONE", **attrs, **ints)
    k = len(svc.classes_)
    cols = k if svc.probability else (2 if k == 2 else k * (k - 1) // 2)
    return make_model([node], [float_input("input", n_features)],
                      [label_output("label", strings), score_output("probabilities", cols)])


def convert_svr(svr, n_features):
    attrs = dict(svm_kernel_attrs(svr))
    attrs.update(n_supports=int(svr.support_vectors_.shape[0]),
                 support_vectors=[float(v) for v in svr.support_vectors_.ravel()],
                 coefficients=[float(v) for v in svr.dual_coef_.ravel()],
                 rho=[float(v) for v in svr.intercept_], one_class=0)
    node = helper.make_node("SVMRegressor", ["input"], ["variable"], domain=ML,
                            post_transform="NONE", **attrs)
    return make_model([node], [float_input("input", n_features)], [score_output("variable", 1)])


# ---------------------------------------------------------------- the models


def build_all(outdir):
    made = []

    def done(name, model, inputs, expected):
        save_case(outdir, name, model, inputs, expected)
        made.append(name)

    iris = datasets.load_iris()
    cancer = datasets.load_breast_cancer()
    digits = datasets.load_digits()
    diabetes = datasets.load_diabetes()
    wine = datasets.load_wine()

    # Gradient boosting, binary (one score, LOGISTIC) and multiclass (SOFTMAX).
    xtr, xte, ytr, _ = split(cancer.data, cancer.target)
    gb = GradientBoostingClassifier(n_estimators=60, max_depth=3, random_state=SEED).fit(xtr, ytr)
    done("gbc_binary_cancer", convert_gbc(gb, xtr.shape[1]), [("input", xte)],
         classifier_expected(gb, xte))

    xtr, xte, ytr, _ = split(wine.data, wine.target, 50)
    gb = GradientBoostingClassifier(n_estimators=40, max_depth=3, random_state=SEED).fit(xtr, ytr)
    done("gbc_multiclass_wine", convert_gbc(gb, xtr.shape[1]), [("input", xte)],
         classifier_expected(gb, xte))

    # Random forests: string labels on iris, 10 integer classes on digits.
    names = np.array(iris.target_names)
    xtr, xte, ytr, _ = split(iris.data, names[iris.target], 50)
    rf = RandomForestClassifier(n_estimators=25, max_depth=6, random_state=SEED).fit(xtr, ytr)
    done("rfc_strings_iris", convert_rfc(rf, xtr.shape[1]), [("input", xte)],
         classifier_expected(rf, xte))

    xtr, xte, ytr, _ = split(digits.data, digits.target, 100)
    rf = RandomForestClassifier(n_estimators=31, max_depth=8, random_state=SEED).fit(xtr, ytr)
    done("rfc_digits", convert_rfc(rf, xtr.shape[1]), [("input", xte)],
         classifier_expected(rf, xte))

    # Regression trees (double thresholds and weights through the *_as_tensor attributes).
    xtr, xte, ytr, _ = split(diabetes.data, diabetes.target, 80)
    dt = DecisionTreeRegressor(max_depth=6, random_state=SEED).fit(xtr, ytr)
    done("dtr_diabetes", tree_regressor_model([dt], xtr.shape[1], 1.0, None, "SUM", True),
         [("input", xte)], regressor_expected(dt, xte))
    rfr = RandomForestRegressor(n_estimators=20, max_depth=6, random_state=SEED).fit(xtr, ytr)
    done("rfr_diabetes",
         tree_regressor_model(rfr.estimators_, xtr.shape[1], 1.0, None, "AVERAGE", True),
         [("input", xte)], regressor_expected(rfr, xte))
    gbr = GradientBoostingRegressor(n_estimators=50, max_depth=3, random_state=SEED).fit(xtr, ytr)
    done("gbr_diabetes",
         tree_regressor_model([t[0] for t in gbr.estimators_], xtr.shape[1], gbr.learning_rate,
                              float(gbr.init_.constant_.ravel()[0]), "SUM", True),
         [("input", xte)], regressor_expected(gbr, xte))
    # The same ensemble with float thresholds (rounded down so float32 inputs compare alike).
    done("gbr_float_diabetes",
         tree_regressor_model([t[0] for t in gbr.estimators_], xtr.shape[1], gbr.learning_rate,
                              float(gbr.init_.constant_.ravel()[0]), "SUM", False),
         [("input", xte)], regressor_expected(gbr, xte))

    # Linear models.
    xtr, xte, ytr, _ = split(cancer.data, cancer.target)
    lr = LogisticRegression(max_iter=5000).fit(xtr, ytr)
    node, outs = convert_logreg(lr, xtr.shape[1])
    done("logreg_binary_cancer", make_model([node], [float_input("input", xtr.shape[1])], outs),
         [("input", xte)], classifier_expected(lr, xte))

    xtr, xte, ytr, _ = split(iris.data, iris.target, 50)
    lr = LogisticRegression(max_iter=2000).fit(xtr, ytr)
    node, outs = convert_logreg(lr, xtr.shape[1])
    done("logreg_multinomial_iris", make_model([node], [float_input("input", 4)], outs),
         [("input", xte)], classifier_expected(lr, xte))

    svc = LinearSVC(random_state=SEED, max_iter=20000).fit(xtr, ytr)
    node, strings = linear_classifier_node("input", svc.coef_, svc.intercept_, svc.classes_, "NONE")
    done("linearsvc_iris",
         make_model([node], [float_input("input", 4)],
                    [label_output("label", strings), score_output("probabilities", 3)]),
         [("input", xte)], classifier_expected(svc, xte, svc.decision_function(xte)))

    xtr, xte, ytr, _ = split(diabetes.data, diabetes.target, 80)
    lin = LinearRegression().fit(xtr, ytr)
    node = helper.make_node("LinearRegressor", ["input"], ["variable"], domain=ML,
                            coefficients=[float(c) for c in lin.coef_],
                            intercepts=[float(lin.intercept_)], targets=1)
    done("linreg_diabetes", make_model([node], [float_input("input", 10)],
                                       [score_output("variable", 1)]),
         [("input", xte)], regressor_expected(lin, xte))

    # SVMs.
    xtr, xte, ytr, _ = split(iris.data, iris.target, 50)
    svc = SVC(kernel="rbf", decision_function_shape="ovo").fit(xtr, ytr)
    done("svc_rbf_iris", convert_svc(svc, 4), [("input", xte)],
         classifier_expected(svc, xte, svc.decision_function(xte)))
    svc = SVC(kernel="rbf", probability=True, random_state=SEED).fit(xtr, ytr)
    done("svc_rbf_proba_iris", convert_svc(svc, 4), [("input", xte)],
         classifier_expected(svc, xte))
    svc = SVC(kernel="poly", degree=3, probability=True, random_state=SEED).fit(xtr, ytr)
    done("svc_poly_proba_iris", convert_svc(svc, 4), [("input", xte)],
         classifier_expected(svc, xte))

    xtr, xte, ytr, _ = split(cancer.data, cancer.target)
    sc = StandardScaler().fit(xtr)
    xtr_s, xte_s = sc.transform(xtr).astype(np.float32), sc.transform(xte).astype(np.float32)
    svc = SVC(kernel="rbf").fit(xtr_s, ytr)
    dec = svc.decision_function(xte_s)  # sklearn's sign: positive means classes_[1]
    done("svc_rbf_binary_cancer", convert_svc(svc, xtr.shape[1]), [("input", xte_s)],
         classifier_expected(svc, xte_s, np.stack([dec, -dec], axis=1)))
    svc = SVC(kernel="sigmoid", gamma=0.01, probability=True, random_state=SEED).fit(xtr_s, ytr)
    done("svc_sigmoid_proba_cancer", convert_svc(svc, xtr.shape[1]), [("input", xte_s)],
         classifier_expected(svc, xte_s))

    xtr, xte, ytr, _ = split(diabetes.data, diabetes.target, 80)
    svr = SVR(kernel="rbf", C=50.0).fit(xtr, ytr)
    done("svr_rbf_diabetes", convert_svr(svr, 10), [("input", xte)], regressor_expected(svr, xte))

    done(*pipeline_case(wine))

    # Benchmark-sized ensembles: 100 trees of depth 6 on 32 synthetic features.
    xb, yb = datasets.make_regression(n_samples=3000, n_features=32, n_informative=20,
                                      noise=5.0, random_state=SEED)
    xtr, xte, ytr, _ = split(xb, yb, 200)
    gbr = GradientBoostingRegressor(n_estimators=100, max_depth=6, learning_rate=0.1,
                                    random_state=SEED).fit(xtr, ytr)
    done("bench_gbr_100x6",
         tree_regressor_model([t[0] for t in gbr.estimators_], 32, gbr.learning_rate,
                              float(gbr.init_.constant_.ravel()[0]), "SUM", False),
         [("input", xte)], regressor_expected(gbr, xte))
    gb = GradientBoostingClassifier(n_estimators=100, max_depth=6, random_state=SEED).fit(
        xtr, (ytr > np.median(ytr)).astype(np.int64))
    done("bench_gbc_100x6", convert_gbc(gb, 32), [("input", xte)], classifier_expected(gb, xte))
    for case in op_cases():
        done(*case)
    return made


def pipeline_case(wine):
    """Wine's 13 numeric columns plus two string columns through a ColumnTransformer:
    SimpleImputer+StandardScaler, Binarizer, Normalizer, OneHotEncoder x2, then LogisticRegression.
    ONNX: Imputer, ArrayFeatureExtractor, Scaler, Binarizer, Normalizer, LabelEncoder and
    CategoryMapper (strings -> int64), OneHotEncoder, FeatureVectorizer, LinearClassifier."""
    rng = np.random.RandomState(SEED)
    x = wine.data.astype(np.float32)
    n = len(x)
    # String columns derived from the data so that they carry signal.
    color = np.where(x[:, 9] > 5.0, "dark", np.where(x[:, 9] > 3.0, "red", "pale"))
    size = np.array(["S", "M", "L", "XL"])[np.digitize(x[:, 12], [500, 800, 1100])]
    # Missing values in the imputed columns.
    imputed_cols = [0, 1, 2, 3, 4, 5, 6]
    mask = rng.rand(n, len(imputed_cols)) < 0.08
    xm = x.copy()
    sub = xm[:, imputed_cols]
    sub[mask] = np.nan
    xm[:, imputed_cols] = sub
    bin_col, norm_cols = 7, [8, 10, 11]

    idx_tr, idx_te = train_test_split(np.arange(n), test_size=50, random_state=SEED)
    table = np.empty((n, 15), dtype=object)
    table[:, :13] = xm
    table[:, 13] = color
    table[:, 14] = size

    ct = ColumnTransformer([
        ("num", Pipeline([("imp", SimpleImputer(strategy="mean")), ("sc", StandardScaler())]),
         imputed_cols),
        ("bin", Binarizer(threshold=1.5), [bin_col]),
        ("norm", Normalizer(norm="l2"), norm_cols),
        ("color", OneHotEncoder(categories=[["dark", "pale", "red"]]), [13]),
        ("size", OneHotEncoder(categories=[["L", "M", "S", "XL"]]), [14]),
    ], sparse_threshold=0)
    pipe = Pipeline([("ct", ct), ("lr", LogisticRegression(max_iter=5000))])
    pipe.fit(table[idx_tr], wine.target[idx_tr])

    imp = pipe.named_steps["ct"].named_transformers_["num"].named_steps["imp"]
    sc = pipe.named_steps["ct"].named_transformers_["num"].named_steps["sc"]
    lr = pipe.named_steps["lr"]

    inits = [numpy_helper.from_array(np.array(imputed_cols, dtype=np.int64), "imp_cols"),
             numpy_helper.from_array(np.array([bin_col], dtype=np.int64), "bin_cols"),
             numpy_helper.from_array(np.array(norm_cols, dtype=np.int64), "norm_cols")]
    nodes = [
        helper.make_node("ArrayFeatureExtractor", ["num", "imp_cols"], ["num_sel"], domain=ML),
        helper.make_node("Imputer", ["num_sel"], ["num_imp"], domain=ML,
                         imputed_value_floats=[float(v) for v in imp.statistics_],
                         replaced_value_float=float("nan")),
        helper.make_node("Scaler", ["num_imp"], ["num_sc"], domain=ML,
                         offset=[float(v) for v in sc.mean_],
                         scale=[float(1.0 / v) for v in sc.scale_]),
        helper.make_node("ArrayFeatureExtractor", ["num", "bin_cols"], ["bin_sel"], domain=ML),
        helper.make_node("Binarizer", ["bin_sel"], ["bin_out"], domain=ML, threshold=1.5),
        helper.make_node("ArrayFeatureExtractor", ["num", "norm_cols"], ["norm_sel"], domain=ML),
        helper.make_node("Normalizer", ["norm_sel"], ["norm_out"], domain=ML, norm="L2"),
        helper.make_node("LabelEncoder", ["color"], ["color_id"], domain=ML,
                         keys_strings=["dark", "pale", "red"], values_int64s=[0, 1, 2],
                         default_int64=-1),
        helper.make_node("OneHotEncoder", ["color_id"], ["color_oh"], domain=ML,
                         cats_int64s=[0, 1, 2], zeros=1),
        helper.make_node("CategoryMapper", ["size"], ["size_id"], domain=ML,
                         cats_strings=["L", "M", "S", "XL"], cats_int64s=[10, 11, 12, 13],
                         default_int64=-1),
        helper.make_node("OneHotEncoder", ["size_id"], ["size_oh"], domain=ML,
                         cats_int64s=[10, 11, 12, 13], zeros=1),
        helper.make_node("FeatureVectorizer", ["num_sc", "bin_out", "norm_out", "color_oh",
                                               "size_oh"], ["features"], domain=ML,
                         inputdimensions=[len(imputed_cols), 1, len(norm_cols), 3, 4]),
    ]
    clf_node, outs = convert_logreg(lr, 0, inp="features")
    nodes.append(clf_node)
    inputs = [float_input("num", 13),
              helper.make_tensor_value_info("color", TensorProto.STRING, [None, 1]),
              helper.make_tensor_value_info("size", TensorProto.STRING, [None, 1])]
    model = make_model(nodes, inputs, outs, inits)

    te = table[idx_te]
    label = pipe.predict(te).astype(np.int64)
    proba = pipe.predict_proba(te).astype(np.float32)
    feeds = [("num", xm[idx_te].astype(np.float32)),
             ("color", color[idx_te].reshape(-1, 1).astype(np.str_)),
             ("size", size[idx_te].reshape(-1, 1).astype(np.str_))]
    return ("pipeline_wine", model, feeds,
            [("label", "expected_label", label), ("probabilities", "expected_proba", proba)])


# ---------------------------------------------------------------- operator cases


def ref_walk(a, tree, x):
    """Reference walk of one tree of a TreeEnsemble attribute dict for one row x."""
    idx = {(t, n): i for i, (t, n) in enumerate(zip(a["nodes_treeids"], a["nodes_nodeids"]))}
    i = idx[(tree, 0)]
    miss = a.get("nodes_missing_value_tracks_true", [0] * len(a["nodes_modes"]))
    while a["nodes_modes"][i] != "LEAF":
        v = np.float32(x[a["nodes_featureids"][i]])
        t = np.float32(a["nodes_values"][i])
        m = a["nodes_modes"][i]
        if np.isnan(v) and miss[i]:
            go = True
        else:
            go = {"BRANCH_LEQ": v <= t, "BRANCH_LT": v < t, "BRANCH_GTE": v >= t,
                  "BRANCH_GT": v > t, "BRANCH_EQ": v == t, "BRANCH_NEQ": v != t}[m]
        nxt = a["nodes_truenodeids"][i] if go else a["nodes_falsenodeids"][i]
        i = idx[(tree, nxt)]
    return a["nodes_nodeids"][i]


def ref_votes(a, prefix, x, n_targets):
    """Per tree, the votes reached: list of arrays [n_targets] (NaN where no vote)."""
    out = []
    for tree in sorted(set(a["nodes_treeids"])):
        leaf = ref_walk(a, tree, x)
        v = np.full(n_targets, np.nan)
        for t, n, k, w in zip(a[prefix + "_treeids"], a[prefix + "_nodeids"], a[prefix + "_ids"],
                              a[prefix + "_weights"]):
            if t == tree and n == leaf:
                v[k] = np.float32(w) + (0 if np.isnan(v[k]) else v[k])
        out.append(v)
    return out


def mixed_tree_attrs():
    """Two trees with every branch mode and a missing-value-tracks-true node; 3 features."""
    # tree 0: 0:LEQ f0<=0.5 -> 1 else 2; 1: LT f1<1 -> 3 else 4; 2: GTE f2>=2 -> 5 else 6;
    #         3 leaf, 4 leaf, 5: EQ f0==3 -> 7 else 8; 6 leaf; 7 leaf; 8 leaf
    # tree 1: 0: GT f1>0 (missing -> true) -> 1 else 2; 1: NEQ f2!=1 -> 3 else 4; 2,3,4 leaves
    a = {"nodes_treeids": [0] * 9 + [1] * 5,
         "nodes_nodeids": list(range(9)) + list(range(5)),
         "nodes_featureids": [0, 1, 2, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0],
         "nodes_values": [0.5, 1.0, 2.0, 0, 0, 3.0, 0, 0, 0, 0.0, 1.0, 0, 0, 0],
         "nodes_modes": ["BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "LEAF", "LEAF", "BRANCH_EQ",
                         "LEAF", "LEAF", "LEAF", "BRANCH_GT", "BRANCH_NEQ", "LEAF", "LEAF",
                         "LEAF"],
         "nodes_truenodeids": [1, 3, 5, 0, 0, 7, 0, 0, 0, 1, 3, 0, 0, 0],
         "nodes_falsenodeids": [2, 4, 6, 0, 0, 8, 0, 0, 0, 2, 4, 0, 0, 0],
         "nodes_missing_value_tracks_true": [0] * 9 + [1, 0, 0, 0, 0]}
    return a


def mixed_rows():
    return np.array([[0.2, 0.5, 0], [0.2, 3, 1], [3, 0, 2], [4, -1, 2.5], [1, 2, 0],
                     [np.nan, np.nan, 1], [3, np.nan, np.nan], [0.5, 1, 2], [np.nan, -2, 7]],
                    dtype=np.float32)


def op_cases():
    cases = []
    x = mixed_rows()
    leaves0, leaves1 = [3, 4, 6, 7, 8], [2, 3, 4]

    # Regressor, 2 targets, every aggregate, with base values and post transforms.
    for agg, post in (("SUM", "NONE"), ("AVERAGE", "LOGISTIC"), ("MIN", "NONE"), ("MAX", "SOFTMAX"),
                      ("SUM", "SOFTMAX_ZERO"), ("AVERAGE", "PROBIT")):
        a = mixed_tree_attrs()
        a.update(target_treeids=[], target_nodeids=[], target_ids=[], target_weights=[])
        for tree, leaves in ((0, leaves0), (1, leaves1)):
            for j, leaf in enumerate(leaves):
                for k in (0, 1):
                    if k == 1 and leaf in (4, 2):  # some leaves vote for target 0 only
                        continue
                    w = 0.1 * (j + 1) + 0.25 * k + 0.5 * tree
                    if post == "SOFTMAX_ZERO" and leaf == 8:
                        w = 0.0
                    if post == "PROBIT":  # keep the averages inside (0, 1)
                        w *= 0.5
                    a["target_treeids"].append(tree)
                    a["target_nodeids"].append(leaf)
                    a["target_ids"].append(k)
                    a["target_weights"].append(w)
        base = {"SOFTMAX_ZERO": [0.0, 0.0], "PROBIT": [0.05, 0.05]}.get(post, [0.3, -0.2])
        ys = []
        for row in x:
            v = np.array(ref_votes(a, "target", row, 2))
            if agg in ("SUM", "AVERAGE"):
                y = np.nansum(v, axis=0) / (2 if agg == "AVERAGE" else 1)
            else:
                f = np.nanmin if agg == "MIN" else np.nanmax
                y = np.array([f(v[:, k]) if not np.all(np.isnan(v[:, k])) else 0 for k in (0, 1)])
            # A target no tree voted for reads 0, without its base value (ONNX Runtime's rule).
            voted = ~np.all(np.isnan(v), axis=0)
            y = np.where(voted, y + np.array(base), 0.0)
            if post == "LOGISTIC":
                y = 1 / (1 + np.exp(-y))
            elif post == "SOFTMAX":
                y = np.exp(y - y.max()) / np.exp(y - y.max()).sum()
            elif post == "SOFTMAX_ZERO":
                nz = y != 0
                e = np.where(nz, np.exp(y - y[nz].max()), 0) if nz.any() else y
                y = e / e.sum() if nz.any() else y
            elif post == "PROBIT":
                from statistics import NormalDist
                y = np.array([NormalDist().inv_cdf(v) if v > 0 else -np.inf for v in y])
            ys.append(y)
        node = helper.make_node("TreeEnsembleRegressor", ["input"], ["variable"], domain=ML,
                                n_targets=2, aggregate_function=agg, post_transform=post,
                                base_values=base, **a)
        model = make_model([node], [float_input("input", 3)], [score_output("variable", 2)])
        cases.append(("op_tree_regressor_%s_%s" % (agg.lower(), post.lower()), model,
                      [("input", x)],
                      [("variable", "expected_value", np.array(ys, dtype=np.float32))]))

    # Classifier, binary single-score cases: positive weights (probabilities) and signed scores.
    for name, weights, post, base in (("positive", [0.1, 0.9, 0.4, 0.7, 0.6, 0.3, 0.5, 0.2], "NONE", None),
                                      ("logistic", [-1.5, 2.0, 0.3, -0.4, 1.1, -0.2, 0.6, -0.9],
                                       "LOGISTIC", [0.25])):
        a = mixed_tree_attrs()
        leaves = [(0, l) for l in leaves0] + [(1, l) for l in leaves1]
        a.update(class_treeids=[t for t, _ in leaves], class_nodeids=[l for _, l in leaves],
                 class_ids=[0] * len(leaves), class_weights=weights)
        if name == "positive":  # averaged so that the sum stays a probability
            a["class_weights"] = [w / 2 for w in weights]
        labels, probas = [], []
        for row in x:
            s = float(np.nansum(np.array(ref_votes(a, "class", row, 2))[:, 0]))
            if base:
                s += base[0]
            if name == "positive":
                labels.append(7 if s > 0.5 else 3)
                probas.append([1 - s, s])
            else:
                labels.append(7 if s > 0 else 3)
                probas.append([1 / (1 + np.exp(s)), 1 / (1 + np.exp(-s))])
        node = helper.make_node("TreeEnsembleClassifier", ["input"], ["label", "probabilities"],
                                domain=ML, classlabels_int64s=[3, 7], post_transform=post,
                                **({"base_values": base} if base else {}), **a)
        model = make_model([node], [float_input("input", 3)],
                           [label_output("label", False), score_output("probabilities", 2)])
        cases.append(("op_tree_classifier_binary_" + name, model, [("input", x)],
                      [("label", "expected_label", np.array(labels, dtype=np.int64)),
                       ("probabilities", "expected_proba", np.array(probas, dtype=np.float32))]))

    # A wide ensemble (1500 full depth-6 trees, 3 targets, one vote per leaf): a single row of it
    # is worth splitting over trees across threads.
    rng = np.random.RandomState(SEED)
    n_trees, depth, n_feat = 1500, 6, 8
    n_nodes = 2 ** (depth + 1) - 1
    first_leaf = 2 ** depth - 1
    feat = rng.randint(0, n_feat, size=(n_trees, n_nodes))
    thr = rng.randn(n_trees, n_nodes).astype(np.float32)
    wts = rng.randn(n_trees, n_nodes).astype(np.float32)
    a = {k: [] for k in ("nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_values",
                         "nodes_modes", "nodes_truenodeids", "nodes_falsenodeids",
                         "target_treeids", "target_nodeids", "target_ids", "target_weights")}
    for t in range(n_trees):
        for i in range(n_nodes):
            leaf = i >= first_leaf
            a["nodes_treeids"].append(t)
            a["nodes_nodeids"].append(i)
            a["nodes_featureids"].append(0 if leaf else int(feat[t, i]))
            a["nodes_values"].append(0.0 if leaf else float(thr[t, i]))
            a["nodes_modes"].append("LEAF" if leaf else "BRANCH_LT")
            a["nodes_truenodeids"].append(0 if leaf else 2 * i + 1)
            a["nodes_falsenodeids"].append(0 if leaf else 2 * i + 2)
            if leaf:
                a["target_treeids"].append(t)
                a["target_nodeids"].append(i)
                a["target_ids"].append(t % 3)
                a["target_weights"].append(float(wts[t, i]))
    xw = rng.randn(1, n_feat).astype(np.float32)
    yw = np.zeros(3)
    for t in range(n_trees):
        i = 0
        while i < first_leaf:
            i = 2 * i + 1 if xw[0, feat[t, i]] < thr[t, i] else 2 * i + 2
        yw[t % 3] += float(wts[t, i])
    node = helper.make_node("TreeEnsembleRegressor", ["input"], ["variable"], domain=ML,
                            n_targets=3, base_values=[1.0, 2.0, 3.0], **a)
    model = make_model([node], [float_input("input", n_feat)], [score_output("variable", 3)])
    cases.append(("op_tree_regressor_wide_batch1", model, [("input", xw)],
                  [("variable", "expected_value", (yw + [1.0, 2.0, 3.0]).astype(np.float32).reshape(1, 3))]))

    # Encoders and preprocessing with numpy references.
    xs = np.array([["a", "b"], ["zz", "c"], ["c", "a"]], dtype=np.str_)
    node = helper.make_node("LabelEncoder", ["input"], ["y"], domain=ML,
                            classes_strings=["a", "b", "c"], default_int64=-7)
    model = make_model([node], [helper.make_tensor_value_info("input", TensorProto.STRING, [None, 2])],
                       [helper.make_tensor_value_info("y", TensorProto.INT64, [None, 2])], ml_opset=1)
    cases.append(("op_label_encoder_v1", model, [("input", xs)],
                  [("y", "expected_value", np.array([[0, 1], [-7, 2], [2, 0]], dtype=np.int64))]))

    xf = np.array([[1.5, -2.0, 3.25], [0.0, 1.5, 9.0]], dtype=np.float32)
    node = helper.make_node("LabelEncoder", ["input"], ["y"], domain=ML,
                            keys_floats=[1.5, -2.0, 3.25], values_strings=["one", "two", "three"],
                            default_string="none")
    model = make_model([node], [float_input("input", 3)],
                       [helper.make_tensor_value_info("y", TensorProto.STRING, [None, 3])], ml_opset=2)
    cases.append(("op_label_encoder_float_to_string", model, [("input", xf)],
                  [("y", "expected_value",
                    np.array([["one", "two", "three"], ["none", "one", "none"]], dtype=np.str_))]))

    xi = np.array([[10, 12], [99, 11]], dtype=np.int64)
    node = helper.make_node("CategoryMapper", ["input"], ["y"], domain=ML,
                            cats_strings=["L", "M", "S"], cats_int64s=[10, 11, 12],
                            default_string="?")
    model = make_model([node], [helper.make_tensor_value_info("input", TensorProto.INT64, [None, 2])],
                       [helper.make_tensor_value_info("y", TensorProto.STRING, [None, 2])])
    cases.append(("op_category_mapper_int_to_string", model, [("input", xi)],
                  [("y", "expected_value", np.array([["L", "S"], ["?", "M"]], dtype=np.str_))]))

    xn = np.array([[1, -3, 2], [0, 0, 0], [4, 5, -6]], dtype=np.float32)
    for norm in ("MAX", "L1", "L2"):
        d = {"MAX": xn.max(axis=1, keepdims=True), "L1": np.abs(xn).sum(axis=1, keepdims=True),
             "L2": np.sqrt((xn.astype(np.float64) ** 2).sum(axis=1, keepdims=True))}[norm]
        d = np.where(d == 0, 1, d)
        node = helper.make_node("Normalizer", ["input"], ["y"], domain=ML, norm=norm)
        model = make_model([node], [float_input("input", 3)], [score_output("y", 3)])
        cases.append(("op_normalizer_" + norm.lower(), model, [("input", xn)],
                      [("y", "expected_value", (xn / d).astype(np.float32))]))

    xb = np.array([[-1, 0, 2], [5, 1, 0]], dtype=np.int64)
    node = helper.make_node("Imputer", ["input"], ["y"], domain=ML, imputed_value_int64s=[7, 8, 9],
                            replaced_value_int64=0)
    model = make_model([node], [helper.make_tensor_value_info("input", TensorProto.INT64, [None, 3])],
                       [helper.make_tensor_value_info("y", TensorProto.INT64, [None, 3])])
    cases.append(("op_imputer_int64", model, [("input", xb)],
                  [("y", "expected_value", np.array([[-1, 8, 2], [5, 1, 9]], dtype=np.int64))]))

    node = helper.make_node("Scaler", ["input"], ["y"], domain=ML, offset=[1.0], scale=[0.5, 2.0, -1.0])
    model = make_model([node], [helper.make_tensor_value_info("input", TensorProto.INT64, [None, 3])],
                       [score_output("y", 3)])
    cases.append(("op_scaler_int64", model, [("input", xb)],
                  [("y", "expected_value",
                    ((xb - 1.0) * np.array([0.5, 2.0, -1.0])).astype(np.float32))]))

    xo = np.array([[1.0, 3.0], [-2.0, 0.5]], dtype=np.float32)
    node = helper.make_node("OneHotEncoder", ["input"], ["y"], domain=ML, cats_int64s=[1, 3, 0])
    model = make_model([node], [float_input("input", 2)],
                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2, 3])])
    oh = np.zeros((2, 2, 3), dtype=np.float32)
    oh[0, 0, 0] = oh[0, 1, 1] = 1
    oh[1, 1, 2] = 1  # float inputs are truncated to int64 first: 0.5 -> 0
    cases.append(("op_one_hot_encoder_float", model, [("input", xo)], [("y", "expected_value", oh)]))

    sv = helper.make_node("SVMRegressor", ["input"], ["y"], domain=ML, coefficients=[1.0, -2.0],
                          rho=[0.5], one_class=1, kernel_type="LINEAR", n_supports=0,
                          kernel_params=[0.0, 0.0, 0.0])
    model = make_model([sv], [float_input("input", 2)], [score_output("y", 1)])
    xo2 = np.array([[1.0, 1.0], [3.0, 1.0], [0.0, 0.0]], dtype=np.float32)
    cases.append(("op_svm_regressor_one_class_linear", model, [("input", xo2)],
                  [("y", "expected_value", np.array([[-1], [1], [1]], dtype=np.float32))]))

    xa = np.array([["a", "b", "c"], ["d", "e", "f"]], dtype=np.str_)
    idx = numpy_helper.from_array(np.array([2, 0], dtype=np.int64), "idx")
    node = helper.make_node("ArrayFeatureExtractor", ["input", "idx"], ["y"], domain=ML)
    model = make_model([node], [helper.make_tensor_value_info("input", TensorProto.STRING, [None, 3])],
                       [helper.make_tensor_value_info("y", TensorProto.STRING, [None, 2])], [idx])
    cases.append(("op_array_feature_extractor_strings", model, [("input", xa)],
                  [("y", "expected_value", np.array([["c", "a"], ["f", "d"]], dtype=np.str_))]))
    return cases


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "tests/data/tabular"
    t0 = time.time()
    made = build_all(outdir)
    print("wrote %d models to %s in %.1f s: %s" % (len(made), outdir, time.time() - t0,
                                                    " ".join(made)))


if __name__ == "__main__":
    main()
