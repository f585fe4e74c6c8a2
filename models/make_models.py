#!/usr/bin/python3
"""Builds the ONNX models and test data used by ModelSdk's generator and tests.

Run with Debian's python (it has onnx 1.12, numpy, scikit-learn):

    /usr/bin/python3 models/make_models.py

Everything is deterministic (fixed seeds, no timestamps), so re-running produces
byte-identical files. Expected outputs are computed with numpy (onnx 1.12 has no
reference evaluator); the C# tests run the models with ONNX Runtime and compare.

Test data follows ONNX's backend test corpus layout:
    testdata/<model>/test_data_set_<k>/input_<i>.pb / output_<i>.pb
where i is the position among graph inputs (excluding initializers) / outputs and
each file is a serialized TensorProto named after the graph input/output.
"""

import csv
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
PRODUCER = "ModelSdk make_models.py"
PRODUCER_VERSION = "1.0"
OPSET = 17


# --------------------------------------------------------------------------- helpers

def make_model(graph, doc, opset=OPSET, ir_version=None, metadata=None, ml_opset=None, full_check=True):
    """Wraps a graph in a ModelProto, checks it (strictly unless full_check=False) and returns it (ml_opset: also import ai.onnx.ml)."""
    kwargs = {}
    if ir_version is not None:
        kwargs["ir_version"] = ir_version
    opsets = [helper.make_opsetid("", opset)]
    if ml_opset is not None:
        opsets.append(helper.make_opsetid("ai.onnx.ml", ml_opset))
    model = helper.make_model(
        graph,
        opset_imports=opsets,
        producer_name=PRODUCER,
        producer_version=PRODUCER_VERSION,
        doc_string=doc,
        **kwargs,
    )
    if metadata:
        # A list (not a dict) keeps the order explicit and the bytes stable.
        for key, value in metadata:
            entry = model.metadata_props.add()
            entry.key = key
            entry.value = value
    onnx.checker.check_model(model, full_check=full_check)
    return model


def save_model(model, name):
    path = os.path.join(HERE, name + ".onnx")
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    return path


def tensor(arr, name):
    return numpy_helper.from_array(np.asarray(arr), name=name)


def write_test_set(name, index, inputs, outputs):
    """inputs/outputs: lists of TensorProto (or (name, array) pairs) in graph order."""
    folder = os.path.join(HERE, "testdata", name, "test_data_set_%d" % index)
    os.makedirs(folder, exist_ok=True)
    for kind, items in (("input", inputs), ("output", outputs)):
        for i, item in enumerate(items):
            if not isinstance(item, TensorProto):
                item = tensor(item[1], item[0])
            with open(os.path.join(folder, "%s_%d.pb" % (kind, i)), "wb") as f:
                f.write(item.SerializeToString())


def vi(name, elem_type, shape, doc=""):
    return helper.make_tensor_value_info(name, elem_type, shape, doc_string=doc)


def map_type(key_type, value_type):
    """TypeProto map(key_type, value_type) (onnx 1.12's helper has no maker for it)."""
    proto = onnx.TypeProto()
    proto.map_type.key_type = key_type
    proto.map_type.value_type.CopyFrom(value_type)
    return proto


def softmax(z):
    # Same formulation ONNX Runtime uses: exp(z - max) / sum.
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


# --------------------------------------------------------------------------- 1. digits

DIGIT_LABELS = "0,1,2,3,4,5,6,7,8,9"
DIGIT_DATASET = "scikit-learn digits (UCI ML hand-written digits)"
PIXEL_SCALE = np.float32(1.0 / 16.0)  # exact power of two, so graph == numpy


def train_digits(seed=0):
    """Trains the real MLP (initial weights from `seed`); returns float32 weights and the held-out split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    digits = load_digits()
    X, y = digits.data, digits.target
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y)
    clf = MLPClassifier(hidden_layer_sizes=(32,), activation="relu",
                        max_iter=2000, random_state=seed)
    clf.fit(X_train / 16.0, y_train)
    weights = {
        "W1": clf.coefs_[0].astype(np.float32),       # [64, 32]
        "b1": clf.intercepts_[0].astype(np.float32),  # [32]
        "W2": clf.coefs_[1].astype(np.float32),       # [32, 10]
        "b2": clf.intercepts_[1].astype(np.float32),  # [10]
    }
    return weights, X_test, y_test, clf.n_iter_


def digits_encode(w, pixels):
    x = pixels.astype(np.float32) * PIXEL_SCALE
    return np.maximum(x @ w["W1"] + w["b1"], np.float32(0)).astype(np.float32)


def digits_head(w, features):
    logits = (features @ w["W2"] + w["b2"]).astype(np.float32)
    probs = softmax(logits)
    return np.argmax(probs, axis=1).astype(np.int64), probs


def encoder_nodes(w):
    """pixels -> features (shared by `digits` and `digits_encoder`)."""
    inits = [tensor(PIXEL_SCALE, "pixel_scale"), tensor(w["W1"], "W1"), tensor(w["b1"], "b1")]
    nodes = [
        helper.make_node("Mul", ["pixels", "pixel_scale"], ["scaled"], name="scale"),
        helper.make_node("MatMul", ["scaled", "W1"], ["hidden_mm"], name="dense1_matmul"),
        helper.make_node("Add", ["hidden_mm", "b1"], ["hidden_pre"], name="dense1_bias"),
        helper.make_node("Relu", ["hidden_pre"], ["features"], name="dense1_relu"),
    ]
    return nodes, inits


def head_nodes(w):
    """features -> label, probabilities (shared by `digits` and `digits_head`)."""
    inits = [tensor(w["W2"], "W2"), tensor(w["b2"], "b2")]
    nodes = [
        helper.make_node("MatMul", ["features", "W2"], ["logits_mm"], name="dense2_matmul"),
        helper.make_node("Add", ["logits_mm", "b2"], ["logits"], name="dense2_bias"),
        helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=1),
        helper.make_node("ArgMax", ["probabilities"], ["label"], name="argmax",
                         axis=1, keepdims=0),
    ]
    return nodes, inits


PIXELS_IN = ("pixels", "Raw 8x8 digit image, row-major, pixel values 0..16 "
             "(the graph scales by 1/16 itself).")
LABEL_OUT = ("label", "Predicted digit 0..9 (ArgMax of probabilities).")
PROBS_OUT = ("probabilities", "Softmax class probabilities for digits 0..9.")
FEATURES_DOC = "32 ReLU hidden activations of the digits MLP."
# The same three for digits_batch, whose first dim is the symbolic `batch`.
PIXELS_BATCH_IN = ("pixels", "Raw 8x8 digit images, one per row, row-major, pixel values 0..16 "
                   "(the graph scales by 1/16 itself).")
LABEL_BATCH_OUT = ("label", "Predicted digit 0..9 per row (ArgMax of probabilities).")
PROBS_BATCH_OUT = ("probabilities", "Softmax class probabilities for digits 0..9, per row.")


def digits_graph(w, doc, name="digits", batch=1, docs=(PIXELS_IN, LABEL_OUT, PROBS_OUT)):
    """The full classifier's graph (pixels -> label, probabilities) with weights `w`.

    `batch` is the first dim of every input and output: 1, or a dim_param name such as "batch".
    Every node works row by row, so a batch of rows gives each row's single-row answer.
    """
    pixels_in, label_out, probs_out = docs
    enc_nodes, enc_inits = encoder_nodes(w)
    h_nodes, h_inits = head_nodes(w)
    return helper.make_graph(
        enc_nodes + h_nodes, name,
        [vi(pixels_in[0], TensorProto.FLOAT, [batch, 64], pixels_in[1])],
        [vi(label_out[0], TensorProto.INT64, [batch], label_out[1]),
         vi(probs_out[0], TensorProto.FLOAT, [batch, 10], probs_out[1])],
        initializer=enc_inits + h_inits,
        doc_string=doc)


def make_digits():
    w, X_test, y_test, n_iter = train_digits()

    # Held-out accuracy from OUR numpy forward pass (what the graph computes).
    labels, _ = digits_head(w, digits_encode(w, X_test))
    accuracy = "%.4f" % float(np.mean(labels == y_test))
    print("digits: MLP converged in %d iterations; held-out accuracy %s on %d samples"
          % (n_iter, accuracy, len(y_test)))

    metadata = [("labels", DIGIT_LABELS), ("dataset", DIGIT_DATASET), ("accuracy", accuracy)]
    sample = X_test[:1].astype(np.float32)  # first held-out sample, [1, 64]
    features = digits_encode(w, sample)
    label, probs = digits_head(w, features)

    # Full classifier.
    graph = digits_graph(w, "Scale 1/16 -> Dense(64->32) -> ReLU -> Dense(32->10) -> Softmax; ArgMax -> label.")
    model = make_model(graph, "Hand-written digit classifier: a scikit-learn MLPClassifier "
                       "(32 ReLU hidden units) trained on the UCI digits data set.",
                       metadata=metadata)
    save_model(model, "digits")
    write_test_set("digits", 0, [("pixels", sample)],
                   [("label", label), ("probabilities", probs)])

    # Chaining pair: encoder output feeds the head's input.
    enc_nodes, enc_inits = encoder_nodes(w)
    graph = helper.make_graph(
        enc_nodes, "digits_encoder",
        [vi(PIXELS_IN[0], TensorProto.FLOAT, [1, 64], PIXELS_IN[1])],
        [vi("features", TensorProto.FLOAT, [1, 32], FEATURES_DOC)],
        initializer=enc_inits,
        doc_string="Scale 1/16 -> Dense(64->32) -> ReLU.")
    model = make_model(graph, "First half of the digits MLP: pixels -> hidden features. "
                       "Chain with digits_head.", metadata=metadata)
    save_model(model, "digits_encoder")
    write_test_set("digits_encoder", 0, [("pixels", sample)], [("features", features)])

    h_nodes, h_inits = head_nodes(w)
    graph = helper.make_graph(
        h_nodes, "digits_head",
        [vi("features", TensorProto.FLOAT, [1, 32], FEATURES_DOC + " Output of digits_encoder.")],
        [vi(LABEL_OUT[0], TensorProto.INT64, [1], LABEL_OUT[1]),
         vi(PROBS_OUT[0], TensorProto.FLOAT, [1, 10], PROBS_OUT[1])],
        initializer=h_inits,
        doc_string="Dense(32->10) -> Softmax; ArgMax -> label.")
    model = make_model(graph, "Second half of the digits MLP: hidden features -> class. "
                       "Chain after digits_encoder.", metadata=metadata)
    save_model(model, "digits_head")
    write_test_set("digits_head", 0, [("features", features)],
                   [("label", label), ("probabilities", probs)])

    # Sample rows for demos/tests: true label + 64 integer pixels.
    with open(os.path.join(HERE, "digits_samples.csv"), "w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["label"] + ["p%d" % i for i in range(64)])
        for row, target in zip(X_test[:50], y_test[:50]):
            out.writerow([int(target)] + [int(v) for v in row])
    return accuracy, w, metadata


def read_digits_samples(count):
    """The first `count` rows of digits_samples.csv: (pixels float32 [count, 64], true labels)."""
    with open(os.path.join(HERE, "digits_samples.csv"), newline="") as f:
        rows = list(csv.reader(f))[1:count + 1]
    labels = np.array([int(r[0]) for r in rows], dtype=np.int64)
    pixels = np.array([[int(v) for v in r[1:]] for r in rows], dtype=np.float32)
    return pixels, labels


def make_digits_batch(w, metadata):
    """digits with a symbolic `batch` dim: the same trained weights `w` (training happens once, in make_digits)."""
    graph = digits_graph(w, "Scale 1/16 -> Dense(64->32) -> ReLU -> Dense(32->10) -> Softmax; ArgMax -> label, "
                         "row by row over the batch.",
                         name="digits_batch", batch="batch",
                         docs=(PIXELS_BATCH_IN, LABEL_BATCH_OUT, PROBS_BATCH_OUT))
    model = make_model(graph, "The digits classifier (same weights) over a batch of images: "
                       "pixels [batch, 64] -> label [batch], probabilities [batch, 10].",
                       metadata=metadata)
    save_model(model, "digits_batch")
    # Set 0: the first 5 rows of digits_samples.csv; set 1: its first row alone (digits' own test input).
    pixels, _ = read_digits_samples(5)
    for index, sample in enumerate([pixels, pixels[:1]]):
        label, probs = digits_head(w, digits_encode(w, sample))
        for r in range(len(sample)):  # row independence: each row alone gives the same answer
            label_r, probs_r = digits_head(w, digits_encode(w, sample[r:r + 1]))
            assert label_r[0] == label[r] and np.allclose(probs_r[0], probs[r], rtol=1e-5, atol=1e-7)
        write_test_set("digits_batch", index, [("pixels", sample)],
                       [("label", label), ("probabilities", probs)])


# --------------------------------------------------------------------------- 2. types

def bfloat16_tensor(values, name):
    """numpy has no bfloat16: keep the upper 16 bits of float32 (values must be exact)."""
    f32 = np.asarray(values, dtype=np.float32)
    bits = (f32.view(np.uint32) >> 16).astype("<u2")
    assert np.array_equal((bits.astype(np.uint32) << 16).view(np.float32), f32), "not exact"
    t = TensorProto()
    t.name = name
    t.data_type = TensorProto.BFLOAT16
    t.dims.extend(f32.shape)
    t.raw_data = bits.tobytes()
    return t


def make_types():
    # (prefix, onnx type, shape, op or None for Identity, constant, test input)
    specs = [
        ("f32", TensorProto.FLOAT, [2, 3], "Mul", np.float32(2),
         np.array([[1.5, -2.25, 0.0], [3.0e5, -1.0e-3, 7.125]], dtype=np.float32)),
        ("f64", TensorProto.DOUBLE, [2, 3], "Add", np.float64(1),
         np.array([[0.1, -2.5, 1e300], [-1e-300, 3.141592653589793, 0.0]], dtype=np.float64)),
        ("i32", TensorProto.INT32, [4], "Mul", np.int32(3),
         np.array([-7, 0, 700000000, -700000000], dtype=np.int32)),
        ("i64", TensorProto.INT64, [4], "Sub", np.int64(1),
         np.array([2**62 + 3, -(2**62), 0, 2**63 - 1], dtype=np.int64)),
        ("bool", TensorProto.BOOL, [3], "Not", None, np.array([True, False, True])),
        ("u8", TensorProto.UINT8, [5], None, None, np.array([0, 1, 127, 128, 255], dtype=np.uint8)),
        ("i8", TensorProto.INT8, [5], None, None, np.array([-128, -1, 0, 1, 127], dtype=np.int8)),
        ("i16", TensorProto.INT16, [3], None, None, np.array([-32768, 12345, 32767], dtype=np.int16)),
        ("u16", TensorProto.UINT16, [3], None, None, np.array([0, 40000, 65535], dtype=np.uint16)),
        ("u32", TensorProto.UINT32, [3], None, None,
         np.array([0, 3000000000, 4294967295], dtype=np.uint32)),
        ("u64", TensorProto.UINT64, [3], None, None,
         np.array([0, 2**63 + 5, 2**64 - 1], dtype=np.uint64)),
        ("f16", TensorProto.FLOAT16, [4], None, None,
         np.array([1.0, -2.5, 0.099975586, 65504.0], dtype=np.float16)),
        ("bf16", TensorProto.BFLOAT16, [4], None, None, [1.0, -2.5, 0.15625, 3.0]),
        ("str", TensorProto.STRING, [2], None, None, np.array(["héllo", "世界"], dtype=object)),
    ]
    nodes, inits, inputs, outputs, in_data, out_data = [], [], [], [], [], []
    for prefix, etype, shape, op, const, value in specs:
        x, y = prefix + "_in", prefix + "_out"
        tname = onnx.TensorProto.DataType.Name(etype).lower()
        if op is None:
            nodes.append(helper.make_node("Identity", [x], [y], name=prefix + "_identity"))
            doc, expected = "Identity(%s)" % x, value
        elif op == "Not":
            nodes.append(helper.make_node("Not", [x], [y], name=prefix + "_not"))
            doc, expected = "Not(%s)" % x, np.logical_not(value)
        else:
            cname = prefix + "_const"
            inits.append(tensor(const, cname))
            nodes.append(helper.make_node(op, [x, cname], [y], name=prefix + "_" + op.lower()))
            sym = {"Mul": "*", "Add": "+", "Sub": "-"}[op]
            doc = "%s %s %s" % (x, sym, const)
            expected = {"Mul": np.multiply, "Add": np.add, "Sub": np.subtract}[op](value, const)
            expected = expected.astype(value.dtype)
        inputs.append(vi(x, etype, shape, "A %s tensor." % tname))
        outputs.append(vi(y, etype, shape, doc + "."))
        if etype == TensorProto.BFLOAT16:
            in_data.append(bfloat16_tensor(value, x))
            out_data.append(bfloat16_tensor(value, y))
        else:
            in_data.append(tensor(value, x))
            out_data.append(tensor(expected, y))

    graph = helper.make_graph(
        nodes, "types", inputs, outputs, initializer=inits,
        doc_string="One independent input->output path per ONNX tensor element type.")
    model = make_model(graph, "Covers every tensor element type the SDK maps: float, double, "
                       "int32, int64, bool, uint8, int8, int16, uint16, uint32, uint64, "
                       "float16, bfloat16, string.")
    save_model(model, "types")
    write_test_set("types", 0, in_data, out_data)


# --------------------------------------------------------------------------- 3. dynamic_batch

def make_dynamic_batch():
    rng = np.random.default_rng(1)
    W = rng.standard_normal((8, 4)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["features", "W"], ["mm"], name="matmul"),
         helper.make_node("Add", ["mm", "b"], ["scores"], name="bias"),
         helper.make_node("ArgMax", ["scores"], ["best"], name="argmax", axis=1, keepdims=0)],
        "dynamic_batch",
        [vi("features", TensorProto.FLOAT, ["batch", 8], "A batch of 8-feature rows.")],
        [vi("scores", TensorProto.FLOAT, ["batch", 4], "Linear scores per row."),
         vi("best", TensorProto.INT64, ["batch"], "Index of the highest score per row.")],
        initializer=[tensor(W, "W"), tensor(b, "b")],
        doc_string="scores = features @ W + b; best = ArgMax(scores, axis=1).")
    save_model(make_model(graph, "Linear layer with a symbolic batch dimension."), "dynamic_batch")
    for k, batch in enumerate((1, 5)):
        x = rng.standard_normal((batch, 8)).astype(np.float32)
        scores = (x @ W + b).astype(np.float32)
        write_test_set("dynamic_batch", k, [("features", x)],
                       [("scores", scores), ("best", np.argmax(scores, axis=1).astype(np.int64))])


# --------------------------------------------------------------------------- 4. nonzero

def make_nonzero():
    graph = helper.make_graph(
        [helper.make_node("NonZero", ["values"], ["indices"], name="nonzero")],
        "nonzero",
        [vi("values", TensorProto.FLOAT, ["n"], "Any 1-D float vector.")],
        # None -> a dim with neither dim_value nor dim_param (fully unknown).
        [vi("indices", TensorProto.INT64, [1, None],
            "Positions of the non-zero values; second dim is data-dependent and unnamed.")],
        doc_string="indices = NonZero(values).")
    save_model(make_model(graph, "Output whose shape has an unknown, unnamed dimension."), "nonzero")
    values = np.array([0, 1.5, 0, -2, 3], dtype=np.float32)
    write_test_set("nonzero", 0, [("values", values)],
                   [("indices", np.array(np.nonzero(values), dtype=np.int64))])


# --------------------------------------------------------------------------- 5. hostile_names

# Pieces that break naive code generators (comments, XML docs, preprocessor, strings).
HOSTILE = [
    "*/",
    "</summary>",
    "<script>&amp;",
    "#error injected",
    "\n}\nclass Injected {}\n//",
    '"\\"',                      # a double quote, a backslash, a double quote
    "\x01\x07\x1b",              # control characters
    "\u2028#error boom",         # LINE SEPARATOR: a line break to C#
    "\u2029#error boom",         # PARAGRAPH SEPARATOR: a line break to C#
    "\r\n",
]
HOSTILE_ALL = " ".join(HOSTILE)


def make_hostile_names():
    in_names = ["class", "0", "a b", "a_b", "x::y/z.w", "ünï cødé", "Run", "39"]
    out_names = ["out put", "int", "Result", "out-put", "ToString", "1st", "Equals", "__"]
    nodes = [helper.make_node("Identity", [i], [o], name="identity %d */" % k)
             for k, (i, o) in enumerate(zip(in_names, out_names))]
    # Give some inputs/outputs hostile docs, one piece each plus the full set, rest plain.
    in_docs = [HOSTILE_ALL, HOSTILE[0] + " input 0", HOSTILE[1], HOSTILE[2] + HOSTILE[3],
               HOSTILE[4], HOSTILE[5], HOSTILE[6] + HOSTILE[9], ""]
    out_docs = [HOSTILE[7] + "\n" + HOSTILE[8], HOSTILE_ALL, "", HOSTILE[3], HOSTILE[5] + HOSTILE[0],
                "plain doc", HOSTILE[4] + HOSTILE[1], HOSTILE[9]]
    graph = helper.make_graph(
        nodes, "hostile */ graph",
        [vi(n, TensorProto.FLOAT, [1], d) for n, d in zip(in_names, in_docs)],
        [vi(n, TensorProto.FLOAT, [1], d) for n, d in zip(out_names, out_docs)],
        doc_string="Graph doc: " + HOSTILE_ALL)
    model = make_model(graph, "Model doc: " + HOSTILE_ALL,
                       metadata=[('we"ird', "line1\nline2")])
    save_model(model, "hostile_names")
    values = [np.array([float(k + 1)], dtype=np.float32) for k in range(8)]
    write_test_set("hostile_names", 0, list(zip(in_names, values)), list(zip(out_names, values)))


# --------------------------------------------------------------------------- 6. legacy

def make_legacy_initializer_inputs():
    W = np.array([[1.0, -1.0], [0.5, 2.0], [-3.0, 0.25]], dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"], name="matmul")],
        "legacy_initializer_inputs",
        # IR < 4: every initializer must also be listed as a graph input (a default value).
        [vi("x", TensorProto.FLOAT, [1, 3], "Row vector."),
         vi("W", TensorProto.FLOAT, [3, 2], "Weight with a default (initializer); may be overridden.")],
        [vi("y", TensorProto.FLOAT, [1, 2], "x @ W.")],
        initializer=[tensor(W, "W")],
        doc_string="y = MatMul(x, W), W is both a graph input and an initializer.")
    model = make_model(graph, "Old-style model (IR 3, opset 8) whose initializer is also a "
                       "graph input.", opset=8, ir_version=3)
    save_model(model, "legacy_initializer_inputs")
    x = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
    write_test_set("legacy_initializer_inputs", 0, [("x", x)], [("y", (x @ W).astype(np.float32))])


# --------------------------------------------------------------------------- 7. sequence_output

def make_sequence_output():
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"], name="identity"),
         helper.make_node("SequenceConstruct", ["x", "x"], ["parts"], name="sequence")],
        "sequence_output",
        [vi("x", TensorProto.FLOAT, [3], "Any 3-vector.")],
        [vi("y", TensorProto.FLOAT, [3], "Copy of x."),
         helper.make_tensor_sequence_value_info("parts", TensorProto.FLOAT, [3],
                                                doc_string="Sequence [x, x].")],
        doc_string="y = x; parts = SequenceConstruct(x, x).")
    save_model(make_model(graph, "Model with a non-tensor (sequence) output."), "sequence_output")
    x = np.array([1.0, -2.0, 3.5], dtype=np.float32)
    # Only output_0 (y): the backend layout has no TensorProto form for the sequence.
    write_test_set("sequence_output", 0, [("x", x)], [("y", x)])


# --------------------------------------------------------------------------- 8. tiny

def make_tiny():
    one = np.ones((1, 4), dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "one"], ["y"], name="add_one")],
        "tiny",
        [vi("x", TensorProto.FLOAT, [1, 4], "Any 4 values.")],
        [vi("y", TensorProto.FLOAT, [1, 4], "x + 1.")],
        initializer=[tensor(one, "one")],
        doc_string="y = x + 1.")
    save_model(make_model(graph, "Smallest useful model: adds one."), "tiny")
    x = np.array([[0.0, 1.5, -2.0, 100.25]], dtype=np.float32)
    write_test_set("tiny", 0, [("x", x)], [("y", x + one)])


def make_many_inputs_batch():
    """Nine inputs along one batch dim (more than a request pins in one call): y = x0 + 2*x1 + ... + 9*x8, row by row."""
    names = ["x%d" % i for i in range(9)]
    nodes, inits, acc = [], [], None
    for i, name in enumerate(names):
        inits.append(tensor(np.float32(i + 1), "w%d" % i))
        nodes.append(helper.make_node("Mul", [name, "w%d" % i], ["m%d" % i], name="scale%d" % i))
        if acc is None:
            acc = "m0"
        else:
            out = "y" if i == len(names) - 1 else "s%d" % i
            nodes.append(helper.make_node("Add", [acc, "m%d" % i], [out], name="sum%d" % i))
            acc = out
    graph = helper.make_graph(
        nodes, "many_inputs_batch",
        [vi(name, TensorProto.FLOAT, ["batch", 2], "Two values per row.") for name in names],
        [vi("y", TensorProto.FLOAT, ["batch", 2], "The weighted sum of the nine inputs.")],
        initializer=inits,
        doc_string="y = sum((i + 1) * x_i) over nine inputs.")
    save_model(make_model(graph, "Nine inputs sharing a batch dim."), "many_inputs_batch")
    xs = [np.arange(6, dtype=np.float32).reshape(3, 2) * (i + 1) / 4 for i in range(9)]
    y = sum(np.float32(i + 1) * x for i, x in enumerate(xs)).astype(np.float32)
    write_test_set("many_inputs_batch", 0, list(zip(names, xs)), [("y", y)])


# --------------------------------------------------------------------------- 9. mlp_mid

def dense_chain(x_name, weights, relu_last):
    """MatMul+Add(+Relu) layers; returns nodes, initializers, final output name."""
    nodes, inits, cur = [], [], x_name
    for k, (W, b) in enumerate(weights):
        last = k == len(weights) - 1
        inits += [tensor(W, "W%d" % k), tensor(b, "b%d" % k)]
        nodes.append(helper.make_node("MatMul", [cur, "W%d" % k], ["mm%d" % k], name="matmul%d" % k))
        out = "logits" if last and not relu_last else "pre%d" % k
        nodes.append(helper.make_node("Add", ["mm%d" % k, "b%d" % k], [out], name="bias%d" % k))
        if not last or relu_last:
            out2 = "act%d" % k
            nodes.append(helper.make_node("Relu", [out], [out2], name="relu%d" % k))
            out = out2
        cur = out
    return nodes, inits, cur


def mlp_mid_forward(weights, x):
    """numpy forward pass of mlp_mid's graph, row by row over x's first dim."""
    h = x
    for k, (W, b) in enumerate(weights):
        h = (h @ W + b).astype(np.float32)
        if k < len(weights) - 1:
            h = np.maximum(h, np.float32(0))
    return h


def make_mlp_mid():
    """Returns the weights and the test input, reused (not redrawn) by make_mlp_mid_batch."""
    rng = np.random.default_rng(2)
    sizes = [(256, 256), (256, 128), (128, 10)]
    weights = [((rng.standard_normal((i, o)) / np.sqrt(i)).astype(np.float32),
                (rng.standard_normal(o) / np.sqrt(i)).astype(np.float32)) for i, o in sizes]
    nodes, inits, _ = dense_chain("x", weights, relu_last=False)
    graph = helper.make_graph(
        nodes, "mlp_mid",
        [vi("x", TensorProto.FLOAT, [1, 256], "256 input features.")],
        [vi("logits", TensorProto.FLOAT, [1, 10], "Raw class scores.")],
        initializer=inits,
        doc_string="Dense(256->256) ReLU -> Dense(256->128) ReLU -> Dense(128->10).")
    save_model(make_model(graph, "Mid-sized MLP (~400 KB of float32 weights) for load/run "
                          "benchmarks."), "mlp_mid")
    x = rng.standard_normal((1, 256)).astype(np.float32)
    write_test_set("mlp_mid", 0, [("x", x)], [("logits", mlp_mid_forward(weights, x))])
    return weights, x


def make_mlp_mid_batch(weights, x1):
    """mlp_mid with a symbolic `batch` dim: the same weights (and, for batch 1, the same test input)."""
    nodes, inits, _ = dense_chain("x", weights, relu_last=False)
    graph = helper.make_graph(
        nodes, "mlp_mid_batch",
        [vi("x", TensorProto.FLOAT, ["batch", 256], "A batch of rows of 256 input features.")],
        [vi("logits", TensorProto.FLOAT, ["batch", 10], "Raw class scores per row.")],
        initializer=inits,
        doc_string="Dense(256->256) ReLU -> Dense(256->128) ReLU -> Dense(128->10), row by row.")
    save_model(make_model(graph, "mlp_mid (same weights) over a batch of rows, for batched "
                          "load/run benchmarks."), "mlp_mid_batch")
    # Set 0: batch 1, mlp_mid's own test input; set 1: batch 5 from seed 5.
    x5 = np.random.default_rng(5).standard_normal((5, 256)).astype(np.float32)
    for index, x in enumerate([x1, x5]):
        logits = mlp_mid_forward(weights, x)
        for r in range(len(x)):  # row independence
            assert np.allclose(mlp_mid_forward(weights, x[r:r + 1])[0], logits[r], rtol=1e-5, atol=1e-6)
        write_test_set("mlp_mid_batch", index, [("x", x)], [("logits", logits)])


# --------------------------------------------------------------------------- 10. big_input

def make_big_input():
    i64 = lambda v: np.array(v, dtype=np.int64)
    graph = helper.make_graph(
        [helper.make_node("Slice", ["image", "starts", "ends"], ["corner_raw"], name="slice"),
         helper.make_node("Mul", ["corner_raw", "two"], ["corner"], name="double")],
        "big_input",
        [vi("image", TensorProto.FLOAT, [1, 3, 1024, 1024], "A 12 MB image tensor.")],
        [vi("corner", TensorProto.FLOAT, [1, 1, 1, 16],
            "2 * image[0:1, 0:1, 0:1, 0:16] (the first 16 elements).")],
        initializer=[tensor(i64([0, 0, 0, 0]), "starts"), tensor(i64([1, 1, 1, 16]), "ends"),
                     tensor(np.float32(2), "two")],
        doc_string="corner = 2 * Slice(image, [0,0,0,0], [1,1,1,16]).")
    save_model(make_model(graph, "Reads only 16 of 3M input elements, so the cost of passing "
                          "the input dominates. No test data (input too big)."), "big_input")


# --------------------------------------------------------------------------- 11. two_outputs

def make_two_outputs():
    graph = helper.make_graph(
        # ReduceSum without an axes input sums over all axes (opset 13+).
        [helper.make_node("ReduceSum", ["x"], ["small"], name="sum_all", keepdims=1),
         helper.make_node("Tile", ["x", "repeats"], ["large"], name="tile")],
        "two_outputs",
        [vi("x", TensorProto.FLOAT, [1, 16], "16 values.")],
        [vi("small", TensorProto.FLOAT, [1, 1], "Sum of all x."),
         vi("large", TensorProto.FLOAT, [1024, 4096], "x tiled [1024, 256] times (16 MB).")],
        initializer=[tensor(np.array([1024, 256], dtype=np.int64), "repeats")],
        doc_string="small = ReduceSum(x); large = Tile(x, [1024, 256]).")
    save_model(make_model(graph, "One cheap small output and one 16 MB output, to test "
                          "fetching only some outputs. No test data."), "two_outputs")


# --------------------------------------------------------------------------- 12. compute_bound

def compute_bound_nodes(weights, axis):
    """4 x (MatMul + Relu) from x, then y = ReduceSum over `axis` (opset 13+: axes is an input)."""
    nodes, inits, cur = [], [], "x"
    for k, W in enumerate(weights):
        inits.append(tensor(W, "W%d" % k))
        nodes.append(helper.make_node("MatMul", [cur, "W%d" % k], ["mm%d" % k], name="matmul%d" % k))
        nodes.append(helper.make_node("Relu", ["mm%d" % k], ["act%d" % k], name="relu%d" % k))
        cur = "act%d" % k
    inits.append(tensor(np.array([axis], dtype=np.int64), "axes"))
    nodes.append(helper.make_node("ReduceSum", [cur, "axes"], ["y"], name="row_sum", keepdims=0))
    return nodes, inits


def compute_bound_forward(weights, x):
    """numpy forward pass: MatMul (broadcast over any leading dims) + Relu, then sum over the last axis."""
    h = x
    for W in weights:
        h = np.maximum(h @ W, np.float32(0)).astype(np.float32)
    return h.sum(axis=-1).astype(np.float32)


def make_compute_bound():
    """Returns the weights and the test input, reused (not redrawn) by make_compute_bound_batch."""
    rng = np.random.default_rng(3)
    weights = [(rng.standard_normal((256, 256)) / np.sqrt(256)).astype(np.float32)
               for _ in range(4)]
    nodes, inits = compute_bound_nodes(weights, axis=1)
    graph = helper.make_graph(
        nodes, "compute_bound",
        [vi("x", TensorProto.FLOAT, [256, 256], "A 256x256 matrix.")],
        [vi("y", TensorProto.FLOAT, [256], "Row sums after 4 MatMul+ReLU layers.")],
        initializer=inits,
        doc_string="4 x (MatMul 256x256 -> Relu) -> ReduceSum(axes=[1], keepdims=0).")
    save_model(make_model(graph, "Compute-heavy model (~67 MFLOP per run, ~1 MB of weights) "
                          "for run-time benchmarks."), "compute_bound")
    x = np.random.default_rng(4).standard_normal((256, 256)).astype(np.float32)
    write_test_set("compute_bound", 0, [("x", x)], [("y", compute_bound_forward(weights, x))])
    return weights, x


def make_compute_bound_batch(weights, x1):
    """compute_bound with a symbolic `batch` dim: x [batch, 256, 256], each item one matrix, same weights."""
    nodes, inits = compute_bound_nodes(weights, axis=2)
    graph = helper.make_graph(
        nodes, "compute_bound_batch",
        [vi("x", TensorProto.FLOAT, ["batch", 256, 256], "A batch of 256x256 matrices.")],
        [vi("y", TensorProto.FLOAT, ["batch", 256],
            "Row sums of each matrix after 4 MatMul+ReLU layers.")],
        initializer=inits,
        doc_string="4 x (MatMul 256x256, broadcast over batch -> Relu) -> ReduceSum(axes=[2], keepdims=0).")
    save_model(make_model(graph, "compute_bound (same weights) over a batch of matrices "
                          "(~67 MFLOP per item), for batched run-time benchmarks."), "compute_bound_batch")
    # Set 0: batch 1, compute_bound's own test input; set 1: batch 2 from seed 6.
    x2 = np.random.default_rng(6).standard_normal((2, 256, 256)).astype(np.float32)
    for index, x in enumerate([x1[np.newaxis], x2]):
        y = compute_bound_forward(weights, x)
        for r in range(len(x)):  # item independence
            assert np.allclose(compute_bound_forward(weights, x[r]), y[r], rtol=1e-5, atol=1e-4)
        write_test_set("compute_bound_batch", index, [("x", x)], [("y", y)])


# --------------------------------------------------------------------------- 13. float8_casts

# ONNX 1.12 predates the float8 types (ONNX 1.14, opset 19), so the numbers are spelled out here.
FLOAT8_TYPES = [("e4m3fn", 17), ("e4m3fnuz", 18), ("e5m2", 19), ("e5m2fnuz", 20)]


def cast_model(name, types, opset, ir_version, x_doc, in_doc, from_x_doc, graph_doc, model_doc):
    """Cast float -> each of types and each of types -> float, through ONNX Runtime's kernels. No expected data: the
    C# tests compare ONNX Runtime's casts with ModelSdk's managed conversions. onnx 1.12's checker does not know
    these types or opsets, so such a model is not checked."""
    nodes, inputs, outputs = [], [vi("x", TensorProto.FLOAT, ["n"], x_doc)], []
    for type_name, etype in types:
        nodes.append(helper.make_node("Cast", ["x"], [type_name + "_from_x"], name="to_" + type_name, to=etype))
        nodes.append(helper.make_node("Cast", [type_name + "_in"], [type_name + "_as_float"], name="from_" + type_name,
                                      to=TensorProto.FLOAT))
        inputs.append(vi(type_name + "_in", etype, ["m"], in_doc % type_name))
        outputs.append(vi(type_name + "_from_x", etype, ["n"], from_x_doc % type_name))
        outputs.append(vi(type_name + "_as_float", TensorProto.FLOAT, ["m"], "Cast(%s_in, to=float)." % type_name))
    graph = helper.make_graph(nodes, name, inputs, outputs, doc_string=graph_doc)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=ir_version,
                              producer_name=PRODUCER, producer_version=PRODUCER_VERSION, doc_string=model_doc)
    save_model(model, name)


def make_float8_casts():
    """Every one of the 256 bit patterns and a set of floats around each rounding edge, in the C# test."""
    cast_model("float8_casts", FLOAT8_TYPES, 19, 9, "Floats to cast to each float8 type.",
               "float8%s values to cast to float.", "Cast(x, to=float8%s), saturating.",
               "Casts between float and the four float8 types.", "float8 element types (opset 19) in and out.")


# The 4-bit integer types (two elements per byte), from ONNX 1.16 (IR 10, Cast in opset 21). onnx 1.12 doesn't know
# them, so their numbers are spelled out. float4e2m1 (23) is left out: ONNX Runtime 1.31's CPU provider has no
# kernel for it at all (not even Identity), so no model with it loads here.
PACKED_TYPES = [("uint4", 21), ("int4", 22)]


def make_packed_casts():
    """Odd and even element counts, in the C# test."""
    cast_model("packed_casts", PACKED_TYPES, 21, 10, "Floats to cast to each 4-bit integer type.",
               "%s values (two per byte) to cast to float.", "Cast(x, to=%s).",
               "Casts between float and the 4-bit integer types.", "4-bit integer element types (opset 21) in and out.")


# --------------------------------------------------------------------------- 14. lifetime models

def make_passthrough():
    """A graph input that is also a graph output: ONNX Runtime hands back the input itself."""
    one = tensor(np.ones((1, 4), dtype=np.float32), "one")
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "one"], ["y"], name="add_one")],
        "passthrough",
        [vi("x", TensorProto.FLOAT, [1, 4], "Four values.")],
        [vi("x", TensorProto.FLOAT, [1, 4], "The input itself, passed through."),
         vi("y", TensorProto.FLOAT, [1, 4], "x + 1.")],
        initializer=[one])
    save_model(make_model(graph, "Outputs its own input (pass-through) next to x + 1."), "passthrough")
    x = np.array([[1, 2, 3, 4]], dtype=np.float32)
    write_test_set("passthrough", 0, [("x", x)], [("x", x), ("y", x + 1)])


def make_duplicate_output():
    """The same value listed twice among the graph outputs."""
    one = tensor(np.ones((1, 4), dtype=np.float32), "one")
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "one"], ["y"], name="add_one")],
        "duplicate_output",
        [vi("x", TensorProto.FLOAT, [1, 4], "Four values.")],
        [vi("y", TensorProto.FLOAT, [1, 4], "x + 1."), vi("y", TensorProto.FLOAT, [1, 4], "x + 1 again.")],
        initializer=[one])
    save_model(make_model(graph, "Declares the output y twice."), "duplicate_output")
    x = np.array([[1, 2, 3, 4]], dtype=np.float32)
    write_test_set("duplicate_output", 0, [("x", x)], [("y", x + 1), ("y", x + 1)])


def make_two_outputs_variant():
    """two_outputs' signature with other answers (small = max, large doubled): a different model to swap in on disk."""
    graph = helper.make_graph(
        [helper.make_node("ReduceMax", ["x"], ["small"], name="max_all", keepdims=1),
         helper.make_node("Tile", ["x", "repeats"], ["tiled"], name="tile"),
         helper.make_node("Mul", ["tiled", "two"], ["large"], name="double")],
        "two_outputs",
        [vi("x", TensorProto.FLOAT, [1, 16], "16 values.")],
        [vi("small", TensorProto.FLOAT, [1, 1], "Max of all x."),
         vi("large", TensorProto.FLOAT, [1024, 4096], "2x tiled [1024, 256] times (16 MB).")],
        initializer=[tensor(np.array([1024, 256], dtype=np.int64), "repeats"), tensor(np.float32(2), "two")],
        doc_string="small = ReduceMax(x); large = 2 * Tile(x, [1024, 256]).")
    save_model(make_model(graph, "two_outputs' signature, other answers: a model file replaced while loaded."),
               "two_outputs_variant")


def make_digits_v2():
    """digits retrained from other initial weights: the same signature, other probabilities (a model to swap in)."""
    w, X_test, y_test, n_iter = train_digits(seed=1)
    labels, _ = digits_head(w, digits_encode(w, X_test))
    accuracy = "%.4f" % float(np.mean(labels == y_test))
    graph = digits_graph(w, "digits' graph with weights trained from another seed.")
    model = make_model(graph, "digits retrained from other initial weights (a second version of the same model).",
                       metadata=[("labels", DIGIT_LABELS), ("dataset", DIGIT_DATASET), ("accuracy", accuracy)])
    save_model(model, "digits_v2")
    sample = X_test[:1].astype(np.float32)
    label, probs = digits_head(w, digits_encode(w, sample))
    write_test_set("digits_v2", 0, [("pixels", sample)], [("label", label), ("probabilities", probs)])
    print("digits_v2: held-out accuracy %s" % accuracy)

    # The same retrained weights with a symbolic batch dim: a second version of digits_batch to swap in while batching.
    graph = digits_graph(w, "digits_batch's graph with weights trained from another seed.",
                         name="digits_batch", batch="batch",
                         docs=(PIXELS_BATCH_IN, LABEL_BATCH_OUT, PROBS_BATCH_OUT))
    model = make_model(graph, "digits_batch retrained from other initial weights (a second version of the same model).",
                       metadata=[("labels", DIGIT_LABELS), ("dataset", DIGIT_DATASET), ("accuracy", accuracy)])
    save_model(model, "digits_batch_v2")


# --------------------------------------------------------------------------- classifiers, sequences, maps, optionals

IRIS_NAMES = ["setosa", "versicolor", "virginica"]


def train_iris():
    """A real scikit-learn LogisticRegression (multinomial, lbfgs) on iris, trained once; 30% held out."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    X, y = load_iris(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    clf = LogisticRegression(max_iter=1000).fit(X_train, y_train)
    return clf, X_test.astype(np.float32), y_test


def iris_graph(clf, string_labels):
    """The graph skl2onnx emits for a LogisticRegression classifier (zipmap=True): LinearClassifier -> Normalizer
    on the probabilities, Cast (or Identity for strings) on the label, ZipMap(probabilities) -> seq(map(label, float))."""
    coef = clf.coef_.astype(np.float32).ravel().tolist()
    intercepts = clf.intercept_.astype(np.float32).tolist()
    if string_labels:
        label_attr = {"classlabels_strings": IRIS_NAMES}
        zipmap_attr = {"classlabels_strings": IRIS_NAMES}
        label_type = TensorProto.STRING
        label_node = helper.make_node("Identity", ["label"], ["output_label"], name="Identity")
        key_type = TensorProto.STRING
    else:
        label_attr = {"classlabels_ints": [0, 1, 2]}
        zipmap_attr = {"classlabels_int64s": [0, 1, 2]}
        label_type = TensorProto.INT64
        label_node = helper.make_node("Cast", ["label"], ["output_label"], name="Cast", to=TensorProto.INT64)
        key_type = TensorProto.INT64
    nodes = [
        helper.make_node("LinearClassifier", ["float_input"], ["label", "probability_tensor"], name="LinearClassifier",
                         domain="ai.onnx.ml", coefficients=coef, intercepts=intercepts, multi_class=1,
                         post_transform="SOFTMAX", **label_attr),
        helper.make_node("Normalizer", ["probability_tensor"], ["probabilities"], name="Normalizer",
                         domain="ai.onnx.ml", norm="L1"),
        label_node,
        helper.make_node("ZipMap", ["probabilities"], ["output_probability"], name="ZipMap",
                         domain="ai.onnx.ml", **zipmap_attr),
    ]
    probability_type = helper.make_sequence_type_proto(
        map_type(key_type, helper.make_tensor_type_proto(TensorProto.FLOAT, None)))
    outputs = [helper.make_tensor_value_info("output_label", label_type, [None]),
               helper.make_value_info("output_probability", probability_type)]
    return helper.make_graph(nodes, "LogisticRegression", [vi("float_input", TensorProto.FLOAT, [None, 4])], outputs)


def make_iris_classifiers():
    clf, X_test, y_test = train_iris()
    predicted = clf.predict(X_test.astype(np.float64))
    accuracy = "%.4f" % float(np.mean(predicted == y_test))
    metadata = [("dataset", "scikit-learn iris (Fisher 1936)"), ("accuracy", accuracy)]
    for name, strings in (("iris_classifier", False), ("iris_classifier_strings", True)):
        model = make_model(iris_graph(clf, strings),
                           "scikit-learn LogisticRegression on iris, in the graph skl2onnx emits (ZipMap on).",
                           opset=15, ml_opset=1, metadata=metadata, full_check=False)  # onnx 1.12 can't infer ZipMap's seq(map)
        save_model(model, name)
        rows = X_test[:5]
        # scikit-learn's own answers (float64), in float32; the probabilities as a [5, 3] matrix (no TensorProto form for a ZipMap).
        labels = clf.predict(rows.astype(np.float64))
        probs = clf.predict_proba(rows.astype(np.float64)).astype(np.float32)
        label_tensor = (numpy_helper.from_array(np.array([IRIS_NAMES[k] for k in labels], dtype=object), "output_label")
                        if strings else tensor(labels.astype(np.int64), "output_label"))
        write_test_set(name, 0, [("float_input", rows)], [label_tensor, ("output_probability", probs)])
    with open(os.path.join(HERE, "iris_samples.csv"), "w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["species", "sepal_length", "sepal_width", "petal_length", "petal_width"])
        for row, label in zip(X_test, y_test):
            out.writerow([IRIS_NAMES[label]] + ["%.1f" % v for v in row])
    with open(os.path.join(HERE, "iris_labels.txt"), "w", newline="") as f:
        f.write("\n".join(IRIS_NAMES) + "\n")
    print("iris_classifier: held-out accuracy %s" % accuracy)


def make_sequence_input():
    """A sequence input: joined = ConcatFromSequence(parts, axis 0); count = SequenceLength(parts)."""
    parts_type = helper.make_sequence_type_proto(helper.make_tensor_type_proto(TensorProto.FLOAT, ["n"]))
    graph = helper.make_graph(
        [helper.make_node("ConcatFromSequence", ["parts"], ["joined"], name="concat", axis=0),
         helper.make_node("SequenceLength", ["parts"], ["count"], name="length")],
        "sequence_input",
        [helper.make_value_info("parts", parts_type, doc_string="Any number (at least one) of 1-D float tensors.")],
        [vi("joined", TensorProto.FLOAT, ["total"], "The parts one after another."),
         vi("count", TensorProto.INT64, [], "How many parts.")])
    save_model(make_model(graph, "A model taking a sequence of tensors."), "sequence_input")


def make_map_input():
    """Map inputs, as scikit-learn's DictVectorizer takes them: string and int64 keys to float."""
    graph = helper.make_graph(
        [helper.make_node("DictVectorizer", ["features"], ["vector"], name="by_name", domain="ai.onnx.ml",
                          string_vocabulary=["height", "weight", "age"]),
         helper.make_node("DictVectorizer", ["codes"], ["code_vector"], name="by_code", domain="ai.onnx.ml",
                          int64_vocabulary=[10, 20, 30, 40])],
        "map_input",
        [helper.make_value_info("features", map_type(
            TensorProto.STRING, helper.make_tensor_type_proto(TensorProto.FLOAT, None)), doc_string="Feature name -> value."),
         helper.make_value_info("codes", map_type(
             TensorProto.INT64, helper.make_tensor_type_proto(TensorProto.FLOAT, None)), doc_string="Code -> value.")],
        [vi("vector", TensorProto.FLOAT, [1, 3], "height, weight, age (0 where missing)."),
         vi("code_vector", TensorProto.FLOAT, [1, 4], "codes 10, 20, 30, 40 (0 where missing).")])
    save_model(make_model(graph, "DictVectorizer over map inputs.", ml_opset=1), "map_input")


def make_optional_values():
    """An optional input and output: has_value = OptionalHasElement(maybe); same = Identity(maybe), absent when it is."""
    maybe_type = helper.make_optional_type_proto(helper.make_tensor_type_proto(TensorProto.FLOAT, [3]))
    graph = helper.make_graph(
        [helper.make_node("OptionalHasElement", ["maybe"], ["has_value"], name="has"),
         helper.make_node("Identity", ["maybe"], ["same"], name="same")],
        "optional_values",
        [helper.make_value_info("maybe", maybe_type, doc_string="A 3-vector, or nothing.")],
        [vi("has_value", TensorProto.BOOL, [], "True when maybe holds a value."),
         helper.make_value_info("same", maybe_type, doc_string="maybe itself: absent when maybe is.")])
    save_model(make_model(graph, "An optional input and an optional output."), "optional_values")


def make_huge_dims():
    """Dims of 2**32 and more: they must load and be checked as they are (an old issue saw 'dimension 1 = 0')."""
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"], name="same")],
        "huge_dims",
        [vi("x", TensorProto.FLOAT, [1, 2 ** 32], "Declared with 4,294,967,296 columns (never run at that size).")],
        [vi("y", TensorProto.FLOAT, [1, 2 ** 32], "x itself.")])
    save_model(make_model(graph, "A model whose declared dims don't fit 32 bits."), "huge_dims")


# --------------------------------------------------------------------------- main

def main():
    accuracy, digits_weights, digits_metadata = make_digits()  # trains the MLP (once)
    make_digits_batch(digits_weights, digits_metadata)
    make_types()
    make_dynamic_batch()
    make_nonzero()
    make_hostile_names()
    make_legacy_initializer_inputs()
    make_sequence_output()
    make_tiny()
    make_many_inputs_batch()
    make_mlp_mid_batch(*make_mlp_mid())
    make_big_input()
    make_two_outputs()
    make_compute_bound_batch(*make_compute_bound())
    make_float8_casts()
    make_packed_casts()
    make_passthrough()
    make_duplicate_output()
    make_two_outputs_variant()
    make_digits_v2()
    make_iris_classifiers()
    make_sequence_input()
    make_map_input()
    make_optional_values()
    make_huge_dims()
    print("wrote models to %s (digits accuracy %s)" % (HERE, accuracy))


if __name__ == "__main__":
    main()
