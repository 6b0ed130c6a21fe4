/* jac-presets.c: the gallery. */
#include "jac-presets.h"
#include "jac-sequence.h"

/* Sizes come first in declarations read in order; most Cookbook entries need none at all: their
 * shapes are inferred (tr, det and inv make X square, @ ties the inner sizes). */
static const JacPreset presets[] = {
  { "rnn", "Neural networks", "RNN step", NULL, NULL, "h_prev",
    "∂h/∂h_prev = diag(vec S) (I ⊗ W_hhᵀ): Σ G·J = (G ⊙ S) W_hhᵀ" },
  { "lstm", "Neural networks", "LSTM step (PyTorch's gates i, f, g, o)", JAC_LSTM_PROGRAM,
    JAC_LSTM_SHAPES, "h_prev",
    "∂c/∂c_prev = δ_ip δ_jq f_ij: the cell state's own path is the forget gate, no weight" },
  { "gru", "Neural networks", "GRU step (PyTorch's gates r, z, n)", JAC_GRU_PROGRAM,
    JAC_GRU_SHAPES, "h_prev",
    "∂h/∂h_prev = δ_ip δ_jq z_ij + terms through W_hrᵀ, W_hzᵀ, W_hnᵀ" },
  { "softmax", "Neural networks", "Softmax of a linear layer", "softmax(X @ W)",
    "N = 2, D = 3, K = 4, X: N×D, W: D×K", "X",
    "Σ G·J = (Y ⊙ (G − (G ⊙ Y) 1)) Wᵀ" },
  { "attention", "Neural networks", "Attention", "softmax(Q @ K.T / 2) @ V",
    "N = 3, D = 2, M = 4, Q: N×D, K: M×D, V: M×D", "Q", NULL },
  { "layer-norm", "Neural networks", "Layer norm (rows)",
    "Y = ((X.T - mean(X.T, 0)) / sqrt(mean((X.T - mean(X.T, 0)) ** 2, 0) + 0.001)).T",
    "N = 2, D = 4, X: N×D", "X", NULL },
  { "cross-entropy", "Neural networks", "Cross-entropy of a softmax",
    "L = -sum(T * log(softmax(X @ W)))", "N = 2, D = 3, K = 3, X: N×D, W: D×K, T: N×K", "W",
    "∂L/∂W = Xᵀ (softmax(X W) ⊙ (1ᵀ T) − T) for one-hot rows of T" },
  { "gate", "Neural networks", "Gated product", "sigmoid(X @ W + b) * C",
    "N = 2, D = 3, H = 3, X: N×D, W: D×H, b: H, C: N×H", "W", NULL },
  { "matmul", "Matrix products", "U = V A", "U = V @ A", "N = 2, K = 4, M = 3, V: N×K, A: K×M",
    "V", "∂U/∂V = I ⊗ Aᵀ: Σ G·J = G Aᵀ" },
  { "chain", "Matrix products", "A X B", "A @ X @ B",
    "N = 2, K = 3, M = 3, P = 2, A: N×K, X: K×M, B: M×P", "X", "Σ G·J = Aᵀ G Bᵀ" },
  { "gram", "Matrix products", "Xᵀ X", "X.T @ X", "N = 3, D = 2, X: N×D", "X",
    "δ_iq X_pj + X_pi δ_jq: nonzero only where q = i or q = j" },
  { "trace-ax", "Matrix Cookbook", "tr(A X)", "tr(A @ X)", "", "X", "∂ tr(A X)/∂X = Aᵀ" },
  { "trace-xtax", "Matrix Cookbook", "tr(Xᵀ A X)", "tr(X.T @ A @ X)", "", "X",
    "∂ tr(Xᵀ A X)/∂X = (A + Aᵀ) X" },
  { "logdet", "Matrix Cookbook", "log |det X|", "logdet(X)", "", "X", "∂ log|det X|/∂X = X⁻ᵀ" },
  { "det", "Matrix Cookbook", "det X", "det(X)", "", "X", "∂ det X/∂X = det(X) X⁻ᵀ" },
  { "inv", "Matrix Cookbook", "X⁻¹ (a 4th-order derivative)", "inv(X)", "", "X",
    "∂X⁻¹/∂X = −X⁻¹ ⊗ X⁻ᵀ: J_ijpq = −(X⁻¹)_ip (X⁻¹)_qj" },
  { "quadratic", "Matrix Cookbook", "xᵀ A x", "x @ A @ x", "", "x", "∂ xᵀ A x/∂x = (A + Aᵀ) x" },
  { "least-squares", "Matrix Cookbook", "½ ‖X W − Y‖²", "sum((X @ W - Y) ** 2) / 2",
    "N = 4, D = 3, K = 2, X: N×D, W: D×K, Y: N×K", "W", "∂/∂W = Xᵀ (X W − Y)" },
  { "least-squares-hessian", "Matrix Cookbook", "Hessian of ½ ‖X W − Y‖²",
    "sum((X @ W - Y) ** 2) / 2", "N = 4, D = 3, K = 2, X: N×D, W: D×K, Y: N×K", "W",
    "∂²/∂W∂W = (XᵀX)_ik δ_jl: XᵀX ⊗ I (row-major vec), I ⊗ XᵀX (column-major); H V = XᵀX V",
    TRUE },
  { "trace-xtax-hessian", "Matrix Cookbook", "Hessian of tr(Xᵀ A X)", "tr(X.T @ A @ X)",
    "N = 3, K = 2, A: N×N, X: N×K", "X",
    "∂²/∂X∂X = (A + Aᵀ)_ik δ_jl: (A + Aᵀ) ⊗ I (row-major vec), I ⊗ (A + Aᵀ) (column-major)",
    TRUE },
};

const JacPreset *
jac_presets (guint *n_presets)
{
  g_return_val_if_fail (n_presets != NULL, NULL);
  *n_presets = G_N_ELEMENTS (presets);
  return presets;
}

const JacPreset *
jac_preset_find (const char *id)
{
  g_return_val_if_fail (id != NULL, NULL);
  for (guint k = 0; k < G_N_ELEMENTS (presets); k++)
    if (g_str_equal (presets[k].id, id))
      return &presets[k];
  return NULL;
}
