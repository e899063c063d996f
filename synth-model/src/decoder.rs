//! An autoregressive program decoder: from the behaviour embedding and the
//! guide's label probabilities, a small GRU proposes whole terms, one grammar
//! production at a time in prefix order, by beam search; each complete term is
//! checked against the specification at once (DeepCoder's and RobustFill's
//! "propose, then check", before any enumeration).
//!
//! The decoder reads the frozen guide model ([`crate::model::GuideModel`]): it is
//! trained after it, on the same synthetic tasks ([`train_decoder`]), and saved
//! beside it (`decoder-config.json`, `decoder.bpk`). Decoding follows the grammar
//! the search would enumerate, so every term it proposes is in that grammar: at
//! each step the model's distribution over tokens is restricted to the
//! productions of the nonterminal being expanded.

use std::path::Path;

use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::{log_softmax, sigmoid, tanh};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use synth_engine::dsl::{eval_term, Column, Id, Op, Term};
use synth_engine::search::CancelToken;
use synth_engine::spec::{cegis, Grammar, Param, Problem, Production};
use thiserror::Error;

use crate::data::{fill_holes, least_nodes, least_sizes, Task};
use crate::labels::{common_constants, const_label, label_count, label_index, op_label, value_label};
use crate::model::{behaviour_input, read, without_description, GuideError, GuideModel, GuideModelConfig};
use crate::trace::TraceFeatures;
use crate::train::{first_and_last_loss, warm_down};

/// The decoder's configuration file, beside the guide's weights.
pub const DECODER_CONFIG_FILE: &str = "decoder-config.json";
/// The decoder's weights file.
pub const DECODER_WEIGHTS_FILE: &str = "decoder.bpk";
/// Parameters with a token of their own (`var0`…); a term using a later one is not
/// a training target, and a grammar's later parameters are not proposed.
pub const MAX_VARS: usize = 4;
/// Child positions with an embedding of their own; later ones share the last.
const POSITIONS: usize = 3;

/// Errors of the decoder.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DecoderError {
    /// Nothing to train on.
    #[error("no task has a program the decoder can spell")]
    NoData,
    /// A file could not be read or written.
    #[error("{}: {message}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The guide model could not encode a task.
    #[error("encoding a task: {0}")]
    Encode(String),
}

impl From<DecoderError> for GuideError {
    fn from(e: DecoderError) -> Self {
        GuideError::Decoder(Box::new(e))
    }
}

/// Tokens: the guide's labels (a parameter is `var0`… instead of `var`), then
/// `var0`…`var3`, then the start token.
#[must_use]
pub fn vocab_size() -> usize {
    label_count() + MAX_VARS + 1
}

/// The start token: the "previous token" and "parent" of the root.
fn start_token() -> usize {
    label_count() + MAX_VARS
}

/// The token of a term node: a parameter by its position, a common constant by its
/// own label, another constant by its class, an operator by its label.
fn node_token(op: &Op, params: &[Param]) -> Option<usize> {
    match op {
        Op::Var(name) => {
            params.iter().position(|p| *p.name == **name).filter(|i| *i < MAX_VARS).map(|i| label_count() + i)
        }
        Op::Const(v) => label_index(value_label(v).unwrap_or_else(|| const_label(v))),
        other => label_index(&op_label(other)),
    }
}

/// One decoding step as training sees it: the token to predict, the one before it,
/// its parent's token and its position among the parent's children.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// The token.
    pub token: usize,
    /// The token before it in prefix order (the start token first).
    pub prev: usize,
    /// Its parent's token (the start token for the root).
    pub parent: usize,
    /// Its position among its parent's children.
    pub position: usize,
}

/// A term in prefix order as decoding steps, if every node has a token.
#[must_use]
pub fn term_steps(term: &Term, params: &[Param]) -> Option<Vec<Step>> {
    if term.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(term.size());
    let mut stack: Vec<(Id, usize, usize)> = vec![(term.root(), start_token(), 0)];
    let mut prev = start_token();
    while let Some((id, parent, position)) = stack.pop() {
        let node = term.node(id);
        let token = node_token(&node.op, params)?;
        out.push(Step { token, prev, parent, position: position.min(POSITIONS - 1) });
        prev = token;
        for (k, c) in node.children.iter().enumerate().rev() {
            stack.push((*c, token, k));
        }
    }
    Some(out)
}

/// Decoder settings.
#[derive(Config, Debug)]
pub struct DecoderConfig {
    /// Width of the behaviour embedding it reads (the guide's `d_embed`).
    #[config(default = 128)]
    pub d_embed: usize,
    /// Width of the token embeddings.
    #[config(default = 64)]
    pub d_token: usize,
    /// Width of the GRU state.
    #[config(default = 256)]
    pub d_hidden: usize,
}

impl DecoderConfig {
    /// Width of what conditions the decoder: the behaviour embedding and the guide's
    /// label probabilities.
    #[must_use]
    pub fn d_condition(&self) -> usize {
        self.d_embed + label_count()
    }

    /// Builds the decoder with random weights.
    #[must_use]
    pub fn init(&self, device: &Device) -> ProgramDecoder {
        let (c, h, v) = (self.d_condition(), self.d_hidden, vocab_size());
        ProgramDecoder {
            prev: EmbeddingConfig::new(v, self.d_token).init(device),
            parent: EmbeddingConfig::new(v, self.d_token).init(device),
            position: EmbeddingConfig::new(POSITIONS, self.d_token).init(device),
            start: LinearConfig::new(c, h).init(device),
            input: LinearConfig::new(self.d_token + c, 3 * h).init(device),
            recur: LinearConfig::new(h, 3 * h).init(device),
            out: LinearConfig::new(h + c, v).init(device),
        }
    }
}

/// A GRU over prefix-order tokens, conditioned on the behaviour.
#[derive(Module, Debug)]
pub struct ProgramDecoder {
    prev: Embedding,
    parent: Embedding,
    position: Embedding,
    start: Linear,
    input: Linear,
    recur: Linear,
    out: Linear,
}

impl ProgramDecoder {
    /// The first state from the condition `[batch, d_condition]`.
    pub fn initial(&self, condition: Tensor<2>) -> Tensor<2> {
        tanh(self.start.forward(condition))
    }

    /// One step: token logits `[batch, vocab]` and the next state `[batch, d_hidden]`.
    /// `prev`, `parent` and `position` are `[batch]`.
    pub fn step(
        &self,
        condition: Tensor<2>,
        state: Tensor<2>,
        prev: Tensor<1, Int>,
        parent: Tensor<1, Int>,
        position: Tensor<1, Int>,
    ) -> (Tensor<2>, Tensor<2>) {
        let embed = |e: &Embedding, t: Tensor<1, Int>| {
            let [b] = t.dims();
            let x: Tensor<3> = e.forward(t.reshape([b, 1]));
            x.squeeze_dim::<2>(1)
        };
        let x = embed(&self.prev, prev) + embed(&self.parent, parent) + embed(&self.position, position);
        let xs = self.input.forward(Tensor::cat(vec![x, condition.clone()], 1)).chunk(3, 1);
        let hs = self.recur.forward(state.clone()).chunk(3, 1);
        let r = sigmoid(xs[0].clone() + hs[0].clone());
        let z = sigmoid(xs[1].clone() + hs[1].clone());
        let n = tanh(xs[2].clone() + r * hs[2].clone());
        let next = n.clone() + z * (state - n);
        (self.out.forward(Tensor::cat(vec![next.clone(), condition], 1)), next)
    }
}

/// The decoder's condition for a batch of problems: the guide model's behaviour
/// embedding and its label probabilities (lexicon included), each problem shown its
/// description's words, not its sentence embedding.
///
/// # Errors
///
/// Examples that do not fit their signature.
pub fn condition(
    model: &GuideModel,
    config: &GuideModelConfig,
    problems: &[&Problem],
    features: &[&TraceFeatures],
    device: &Device,
) -> Result<Tensor<2>, DecoderError> {
    let texts = vec![None; problems.len()];
    let input =
        behaviour_input(config, problems, &texts, features, device).map_err(|e| DecoderError::Encode(e.to_string()))?;
    let lexicon = model.lexicon_logits(&input);
    let embedding = model.embed(input);
    let labels = sigmoid(model.heads(embedding.clone(), lexicon).label_logits);
    Ok(Tensor::cat(vec![embedding, labels], 1))
}

/// Decoder training settings.
#[derive(Config, Debug)]
pub struct DecoderTrainingConfig {
    /// The decoder.
    pub decoder: DecoderConfig,
    /// Passes over the training sequences (the committed weights: 10).
    #[config(default = 10)]
    pub epochs: usize,
    /// Sequences per step.
    #[config(default = 64)]
    pub batch_size: usize,
    /// Adam learning rate.
    #[config(default = 2e-3)]
    pub learning_rate: f64,
    /// Stop after this many steps (0 = no limit).
    #[config(default = 0)]
    pub max_steps: usize,
    /// Seed.
    #[config(default = 17)]
    pub seed: u64,
}

/// One training sequence: a task's condition and its program's steps.
struct Sequence {
    condition: Vec<f32>,
    steps: Vec<Step>,
}

/// What decoder training produced.
#[derive(Debug)]
pub struct DecoderOutcome {
    /// The trained decoder (on the CPU).
    pub decoder: ProgramDecoder,
    /// Mean token cross-entropy of the first and last 50 steps.
    pub first_loss: f32,
    /// See `first_loss`.
    pub last_loss: f32,
    /// Steps run.
    pub steps: usize,
    /// Training sequences (each task twice: without its description and with its words).
    pub sequences: usize,
}

/// Trains a decoder on `tasks`' programs, reading the frozen guide `model`; each
/// task is shown twice, without its description and with its words. `progress` gets
/// (step, total, loss).
///
/// # Errors
///
/// [`DecoderError::NoData`] or a task that cannot be encoded.
pub fn train_decoder(
    config: &DecoderTrainingConfig,
    model: &GuideModel,
    model_config: &GuideModelConfig,
    tasks: &[Task],
    progress: &mut dyn FnMut(usize, usize, f32),
) -> Result<DecoderOutcome, DecoderError> {
    let plain = Device::flex();
    let c = config.decoder.d_condition();
    let mut sequences: Vec<Sequence> = Vec::with_capacity(2 * tasks.len());
    let spelt: Vec<(&Task, Vec<Step>)> =
        tasks.iter().filter_map(|t| term_steps(&t.program, &t.problem.params).map(|s| (t, s))).collect();
    for chunk in spelt.chunks(64) {
        let bare: Vec<Problem> = chunk.iter().map(|(t, _)| without_description(&t.problem)).collect();
        let mut problems: Vec<&Problem> = bare.iter().collect();
        problems.extend(chunk.iter().map(|(t, _)| &t.problem));
        let features: Vec<&TraceFeatures> = chunk.iter().chain(chunk.iter()).map(|(t, _)| &t.features).collect();
        let cond = read(condition(model, model_config, &problems, &features, &plain)?)
            .map_err(|e| DecoderError::Encode(e.to_string()))?;
        for (row, (_, steps)) in cond.chunks(c).zip(chunk.iter().chain(chunk.iter())) {
            sequences.push(Sequence { condition: row.to_vec(), steps: steps.clone() });
        }
    }
    if sequences.is_empty() {
        return Err(DecoderError::NoData);
    }
    let device = plain.autodiff();
    device.seed(config.seed);
    let mut decoder = config.decoder.init(&device);
    let mut optim = AdamConfig::new().init();
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let per_epoch = sequences.len().div_ceil(config.batch_size);
    let mut total = per_epoch * config.epochs;
    if config.max_steps > 0 {
        total = total.min(config.max_steps);
    }
    let mut order: Vec<usize> = (0..sequences.len()).collect();
    let mut history = Vec::with_capacity(total);
    let mut step = 0;
    'outer: for _ in 0..config.epochs {
        order.shuffle(&mut rng);
        for chunk in order.chunks(config.batch_size) {
            if step >= total {
                break 'outer;
            }
            step += 1;
            let batch: Vec<&Sequence> = chunk.iter().map(|i| &sequences[*i]).collect();
            let loss = sequence_loss(&decoder, &batch, c, &device);
            let value: f32 = loss.clone().into_scalar::<f32>();
            let grads = GradientsParams::from_grads(loss.backward(), &decoder);
            decoder = optim.step(warm_down(config.learning_rate, step, total), decoder, grads);
            history.push(value);
            progress(step, total, value);
        }
    }
    let (first_loss, last_loss) = first_and_last_loss(&history);
    Ok(DecoderOutcome {
        decoder: decoder.valid().to_device(&Device::flex()),
        first_loss,
        last_loss,
        steps: step,
        sequences: sequences.len(),
    })
}

/// Mean token cross-entropy of a batch under teacher forcing.
fn sequence_loss(decoder: &ProgramDecoder, batch: &[&Sequence], c: usize, device: &Device) -> Tensor<1> {
    let b = batch.len();
    let v = vocab_size();
    let len = batch.iter().map(|s| s.steps.len()).max().unwrap_or(1);
    let cond: Vec<f32> = batch.iter().flat_map(|s| s.condition.iter().copied()).collect();
    let condition = Tensor::<2>::from_data(TensorData::new(cond, [b, c]), device);
    let mut state = decoder.initial(condition.clone());
    let mut total: Option<Tensor<1>> = None;
    let mut count = 0usize;
    for t in 0..len {
        // A sequence that has ended reads padding (its outputs are not scored).
        let pick = |f: fn(&Step) -> usize, pad: usize| -> Tensor<1, Int> {
            let ids: Vec<i64> = batch.iter().map(|s| s.steps.get(t).map_or(pad, f) as i64).collect();
            Tensor::from_data(TensorData::new(ids, [b]), device)
        };
        let (logits, next) = decoder.step(
            condition.clone(),
            state,
            pick(|s| s.prev, start_token()),
            pick(|s| s.parent, start_token()),
            pick(|s| s.position, 0),
        );
        state = next;
        let mut target = vec![0.0f32; b * v];
        for (i, s) in batch.iter().enumerate() {
            if let Some(st) = s.steps.get(t) {
                target[i * v + st.token] = 1.0;
                count += 1;
            }
        }
        let target = Tensor::<2>::from_data(TensorData::new(target, [b, v]), device);
        let nll = (log_softmax(logits, 1) * target).sum().neg();
        total = Some(match total {
            Some(acc) => acc + nll,
            None => nll,
        });
    }
    total.map_or_else(|| Tensor::zeros([1], device), |t| t.div_scalar(count.max(1) as f32))
}

/// One production as the decoder spells it: its root's token, and the
/// nonterminals of its holes, left to right.
#[derive(Clone, Debug)]
struct DecodedProduction {
    template: Term,
    token: usize,
    holes: Vec<usize>,
    /// Nodes of the template that are not holes.
    fixed: usize,
    /// −ln of the productions of its nonterminal that share its token.
    share: f32,
}

/// A grammar prepared for decoding.
#[derive(Clone, Debug)]
pub struct DecodingGrammar {
    names: Vec<String>,
    nts: Vec<Vec<DecodedProduction>>,
    min: Vec<usize>,
}

impl DecodingGrammar {
    /// The productions of `grammar` the decoder can spell (a `(Constant S)` or a
    /// production that is a bare nonterminal is not one).
    #[must_use]
    pub fn new(grammar: &Grammar, params: &[Param]) -> DecodingGrammar {
        let names: Vec<String> = grammar.nonterminals.iter().map(|nt| nt.name.clone()).collect();
        let hole = |op: &Op| match op {
            Op::Var(v) => names.iter().position(|n| **n == **v),
            _ => None,
        };
        let mut nts: Vec<Vec<DecodedProduction>> = Vec::with_capacity(names.len());
        for nt in &grammar.nonterminals {
            let mut prods = Vec::new();
            let mut add = |template: Term| {
                let root = &template.node(template.root()).op;
                if hole(root).is_some() {
                    return;
                }
                let Some(token) = node_token(root, params) else { return };
                let holes: Vec<usize> =
                    template.nodes().iter().filter(|n| n.children.is_empty()).filter_map(|n| hole(&n.op)).collect();
                let fixed = template.size() - holes.len();
                prods.push(DecodedProduction { template, token, holes, fixed, share: 0.0 });
            };
            for p in &nt.productions {
                match p {
                    Production::Term(t) if !t.is_empty() => add(t.clone()),
                    Production::AnyVar(sort) => {
                        for q in params.iter().filter(|q| q.ty.sort == *sort) {
                            add(Term::var(&q.name));
                        }
                    }
                    _ => {}
                }
            }
            for i in 0..prods.len() {
                let k = prods.iter().filter(|q| q.token == prods[i].token).count();
                prods[i].share = -(k as f32).ln();
            }
            nts.push(prods);
        }
        // `usize::MAX` for a nonterminal with no term the decoder can spell.
        let min = least_sizes(&nts, |p| (p.fixed, &p.holes));
        DecodingGrammar { names, nts, min }
    }

    /// The grammar the search of `problem` builds (the default one, with every common
    /// constant, as the training programs were drawn from), or the one it gives.
    #[must_use]
    pub fn for_problem(problem: &Problem) -> DecodingGrammar {
        let grammar = match &problem.grammar {
            Some(g) => g.clone(),
            None => {
                let mut g = synth_engine::search::default_grammar(problem);
                for nt in &mut g.nonterminals {
                    for v in common_constants(nt.sort) {
                        let leaf = Production::Term(Term::leaf(Op::Const(v)));
                        if !nt.productions.contains(&leaf) {
                            nt.productions.push(leaf);
                        }
                    }
                }
                g
            }
        };
        DecodingGrammar::new(&grammar, &problem.params)
    }

    /// Builds the term of a derivation (productions in prefix order) from `at`.
    fn build(&self, derivation: &[(usize, usize)], at: &mut usize) -> Option<Term> {
        let &(nt, p) = derivation.get(*at)?;
        *at += 1;
        let prod = &self.nts[nt][p];
        let subs: Vec<Term> = prod.holes.iter().map(|_| self.build(derivation, at)).collect::<Option<_>>()?;
        fill_holes(&prod.template, &subs, &|v| self.names.iter().any(|x| **x == *v))
    }
}

/// Checks candidate terms against a problem: its examples, or for a reference
/// specification, sampled inputs and then the same check [`synth_engine::search::synthesize`]
/// makes (`cegis::find_counterexample`).
#[derive(Debug)]
pub struct Checker {
    problem: Problem,
    inputs: Vec<Column>,
    target: Column,
    checks: usize,
    seed: u64,
}

impl Checker {
    /// A checker for `problem`, `checks` random inputs for a reference.
    ///
    /// # Errors
    ///
    /// Examples that do not fit the signature, or a reference that does not evaluate.
    pub fn new(problem: &Problem, samples: usize, checks: usize, seed: u64) -> Result<Checker, DecoderError> {
        let mut p = problem.clone();
        if p.reference.is_some() {
            let inputs = cegis::sample_inputs(&p, samples, seed);
            let mut labelled = cegis::label(&p, &inputs).map_err(|e| DecoderError::Encode(e.to_string()))?;
            labelled.extend(p.examples.iter().cloned());
            p.examples = labelled;
        }
        p.validate_examples().map_err(|e| DecoderError::Encode(e.to_string()))?;
        let inputs = p.input_columns();
        let target = p.output_column();
        Ok(Checker { problem: p, inputs, target, checks, seed })
    }

    /// Whether `term` meets the specification.
    #[must_use]
    pub fn accepts(&self, term: &Term) -> bool {
        let vars: Vec<(&str, &Column)> =
            self.problem.params.iter().map(|p| p.name.as_str()).zip(&self.inputs).collect();
        let Ok(got) = eval_term(term, &vars, &self.problem.funs, self.target.len()) else { return false };
        if !got.eq_mask(&self.target).iter().all(|ok| *ok) {
            return false;
        }
        match self.problem.reference {
            Some(_) => matches!(cegis::find_counterexample(&self.problem, term, self.checks, self.seed), Ok(None)),
            None => true,
        }
    }
}

/// Beam search settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BeamSettings {
    /// Partial terms kept per step.
    pub width: usize,
    /// Largest term proposed, in nodes.
    pub max_nodes: usize,
}

impl Default for BeamSettings {
    fn default() -> BeamSettings {
        BeamSettings { width: 64, max_nodes: 12 }
    }
}

/// What a beam search did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BeamOutcome {
    /// The first complete term the checker accepted, in the order they completed.
    pub found: Option<Term>,
    /// Complete terms checked.
    pub checked: usize,
}

/// A partial derivation on the beam.
#[derive(Clone, Debug)]
struct Hypothesis {
    score: f32,
    derivation: Vec<(usize, usize)>,
    /// Holes left to fill, the next one last: (nonterminal, parent token, position).
    pending: Vec<(usize, usize, usize)>,
    prev: usize,
    nodes: usize,
    row: usize,
}

impl ProgramDecoder {
    /// Beam search over `grammar` from one problem's condition `[1, d_condition]`:
    /// each term that completes is checked by `accepts` at once, in the order they
    /// complete; the search stops at the first accepted, when the beam empties, or when
    /// `cancel` is set.
    ///
    /// # Errors
    ///
    /// A model output that cannot be read.
    pub fn beam_search(
        &self,
        condition: Tensor<2>,
        grammar: &DecodingGrammar,
        settings: BeamSettings,
        accepts: &mut dyn FnMut(&Term) -> bool,
        cancel: &CancelToken,
    ) -> Result<BeamOutcome, DecoderError> {
        let device = condition.device();
        let v = vocab_size();
        let mut out = BeamOutcome::default();
        if grammar.nts.is_empty() {
            return Ok(out);
        }
        let mut beam = vec![Hypothesis {
            score: 0.0,
            derivation: Vec::new(),
            pending: vec![(0, start_token(), 0)],
            prev: start_token(),
            nodes: 0,
            row: 0,
        }];
        let mut state = self.initial(condition.clone());
        while !beam.is_empty() && !cancel.is_cancelled() {
            let n = beam.len();
            let ids = |f: &dyn Fn(&Hypothesis) -> usize| -> Tensor<1, Int> {
                Tensor::from_data(TensorData::new(beam.iter().map(|h| f(h) as i64).collect::<Vec<i64>>(), [n]), &device)
            };
            let rows = ids(&|h| h.row);
            let cond = condition.clone().select(0, Tensor::<1, Int>::zeros([n], &device));
            let (logits, next) = self.step(
                cond,
                state.select(0, rows),
                ids(&|h| h.prev),
                ids(&|h| h.pending.last().map_or(0, |p| p.1)),
                ids(&|h| h.pending.last().map_or(0, |p| p.2)),
            );
            state = next;
            let lsm = read(log_softmax(logits, 1)).map_err(|e| DecoderError::Encode(e.to_string()))?;
            let mut candidates: Vec<Hypothesis> = Vec::new();
            for (i, h) in beam.iter().enumerate() {
                let mut pending = h.pending.clone();
                let Some((nt, _, _)) = pending.pop() else { continue };
                let later = pending.iter().fold(0usize, |a, p| a.saturating_add(grammar.min[p.0]));
                for (k, prod) in grammar.nts[nt].iter().enumerate() {
                    let nodes = least_nodes(h.nodes + prod.fixed, &prod.holes, &grammar.min).saturating_add(later);
                    if nodes > settings.max_nodes {
                        continue;
                    }
                    let mut p = pending.clone();
                    for (pos, hole) in prod.holes.iter().enumerate().rev() {
                        p.push((*hole, prod.token, pos.min(POSITIONS - 1)));
                    }
                    let mut derivation = h.derivation.clone();
                    derivation.push((nt, k));
                    candidates.push(Hypothesis {
                        score: h.score + lsm[i * v + prod.token] + prod.share,
                        derivation,
                        pending: p,
                        prev: prod.token,
                        nodes: h.nodes + prod.fixed,
                        row: i,
                    });
                }
            }
            candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
            candidates.truncate(settings.width);
            beam = Vec::with_capacity(candidates.len());
            for c in candidates {
                if c.pending.is_empty() {
                    let Some(term) = grammar.build(&c.derivation, &mut 0) else { continue };
                    out.checked += 1;
                    if accepts(&term) {
                        out.found = Some(term);
                        return Ok(out);
                    }
                } else {
                    beam.push(c);
                }
            }
        }
        Ok(out)
    }
}

/// Reads `decoder-config.json` and `decoder.bpk` from `dir`, if both are there.
///
/// # Errors
///
/// A file that is there but cannot be read.
pub fn load_decoder(dir: &Path, device: &Device) -> Result<Option<(ProgramDecoder, DecoderConfig)>, DecoderError> {
    let cpath = dir.join(DECODER_CONFIG_FILE);
    let wpath = dir.join(DECODER_WEIGHTS_FILE);
    if !cpath.is_file() || !wpath.is_file() {
        return Ok(None);
    }
    let config =
        DecoderConfig::load(&cpath).map_err(|e| DecoderError::Io { path: cpath.clone(), message: e.to_string() })?;
    let decoder = config
        .init(device)
        .try_load_file(&wpath)
        .map_err(|e| DecoderError::Io { path: wpath, message: e.to_string() })?;
    Ok(Some((decoder, config)))
}

/// Held-out quality of a decoder: how often beam search proposes a term that meets
/// each task's examples, and how long it takes.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct DecoderMetrics {
    /// Tasks tried.
    pub tasks: usize,
    /// Tasks whose examples a proposed term met, without the description.
    pub solved_bare: usize,
    /// Tasks whose examples a proposed term met, with the description's words.
    pub solved_words: usize,
    /// Mean complete terms checked per task (both views).
    pub mean_checked: f64,
    /// Median time per beam search, in milliseconds (both views).
    pub median_ms: f64,
}

/// [`DecoderMetrics`] of `decoder` on `tasks`, with `settings`.
///
/// # Errors
///
/// A task that cannot be encoded.
pub fn evaluate_decoder(
    decoder: &ProgramDecoder,
    model: &GuideModel,
    model_config: &GuideModelConfig,
    tasks: &[Task],
    settings: BeamSettings,
) -> Result<DecoderMetrics, DecoderError> {
    let device = Device::flex();
    let mut m = DecoderMetrics { tasks: tasks.len(), ..DecoderMetrics::default() };
    let mut times = Vec::with_capacity(2 * tasks.len());
    let mut checked = 0usize;
    for t in tasks {
        let checker = Checker::new(&t.problem, 0, 0, 0)?;
        let grammar = DecodingGrammar::for_problem(&t.problem);
        for described in [false, true] {
            let problem = if described { t.problem.clone() } else { without_description(&t.problem) };
            let start = std::time::Instant::now();
            let cond = condition(model, model_config, &[&problem], &[&t.features], &device)?;
            let out = decoder.beam_search(
                cond,
                &grammar,
                settings,
                &mut |term| checker.accepts(term),
                &CancelToken::new(),
            )?;
            times.push(start.elapsed().as_secs_f64() * 1e3);
            checked += out.checked;
            if out.found.is_some() {
                if described {
                    m.solved_words += 1;
                } else {
                    m.solved_bare += 1;
                }
            }
        }
    }
    times.sort_by(f64::total_cmp);
    m.median_ms = times.get(times.len() / 2).copied().unwrap_or(0.0);
    m.mean_checked = checked as f64 / times.len().max(1) as f64;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{generate, DataConfig};
    use crate::train::tiny_model_config;
    use synth_engine::spec::Examples;

    fn clear_lowest_bit() -> Problem {
        Examples::from_json(
            r#"{"function": "f", "params": [{"name": "x", "type": "u32"}], "output_type": "u32",
              "examples": [{"args": [12], "output": 8}, {"args": [7], "output": 6}, {"args": [16], "output": 0}, {"args": [10], "output": 8}]}"#,
        )
        .unwrap()
        .to_problem()
        .unwrap()
    }

    #[test]
    fn a_term_is_spelt_in_prefix_order_with_its_parents() {
        let p = clear_lowest_bit();
        let t: Term = "(bvand x (bvsub x #x00000001))".parse().unwrap();
        let steps = term_steps(&t, &p.params).unwrap();
        let tok = |s: &str| label_index(s).unwrap();
        let x = label_count();
        assert_eq!(
            steps.iter().map(|s| s.token).collect::<Vec<_>>(),
            vec![tok("bvand"), x, tok("bvsub"), x, tok("bv.1")]
        );
        assert_eq!(steps[2], Step { token: tok("bvsub"), prev: x, parent: tok("bvand"), position: 1 });
        assert_eq!(steps[4].parent, tok("bvsub"));
        // A parameter that is not the function's has no token.
        assert_eq!(term_steps(&"(bvand y x)".parse().unwrap(), &p.params), None);
    }

    #[test]
    fn a_derivation_builds_the_term_it_spells() {
        let p = clear_lowest_bit();
        let g = DecodingGrammar::for_problem(&p);
        let t: Term = "(bvand x (bvsub x #x00000001))".parse().unwrap();
        // Find each node's production by its token, in prefix order.
        let steps = term_steps(&t, &p.params).unwrap();
        let start = g.nts[0].iter().position(|q| q.token == steps[0].token).unwrap();
        let mut derivation = vec![(0, start)];
        for s in &steps[1..] {
            derivation.push((0, g.nts[0].iter().position(|q| q.token == s.token).unwrap()));
        }
        assert_eq!(g.build(&derivation, &mut 0), Some(t.clone()));
        let checker = Checker::new(&p, 0, 0, 0).unwrap();
        assert!(checker.accepts(&t));
        assert!(!checker.accepts(&"(bvsub x #x00000001)".parse().unwrap()));
    }

    #[test]
    fn a_nonterminal_the_decoder_cannot_spell_is_never_expanded() {
        // `C` has only `(Constant …)`; five of it under one operator would overflow an
        // unsaturated size bound.
        let p = synth_engine::spec::sygus::parse(
            "(define-fun g ((a (_ BitVec 32)) (b (_ BitVec 32)) (c (_ BitVec 32)) (d (_ BitVec 32)) (e (_ BitVec 32))) (_ BitVec 32) a)
             (synth-fun f ((x (_ BitVec 32))) (_ BitVec 32) ((Start (_ BitVec 32)) (C (_ BitVec 32)))
               ((Start (_ BitVec 32) (x #x00000001 (bvadd Start Start) (bvand Start C) (g C C C C C)))
                (C (_ BitVec 32) ((Constant (_ BitVec 32))))))
             (constraint (= (f #x00000003) #x00000004))",
        )
        .unwrap()
        .problem;
        let grammar = DecodingGrammar::for_problem(&p);
        assert_eq!(grammar.min[1], usize::MAX);
        let device = Device::flex();
        let config = DecoderConfig::new().with_d_embed(8).with_d_token(8).with_d_hidden(8);
        let decoder = config.init(&device);
        let cond = Tensor::<2>::zeros([1, config.d_condition()], &device);
        let mut seen = Vec::new();
        let out = decoder
            .beam_search(
                cond,
                &grammar,
                BeamSettings { width: 32, max_nodes: 5 },
                &mut |t| {
                    seen.push(t.to_string());
                    t.to_string() == "(bvadd x #x00000001)"
                },
                &CancelToken::new(),
            )
            .unwrap();
        assert!(!seen.is_empty());
        assert!(seen.iter().all(|t| !t.contains("bvand") && !t.contains("(g ")), "{seen:?}");
        assert_eq!(out.found.map(|t| t.to_string()), seen.last().filter(|t| *t == "(bvadd x #x00000001)").cloned());
    }

    #[test]
    fn a_trained_decoder_proposes_a_training_program_and_never_leaves_the_grammar() {
        let data = generate(&DataConfig { draws: 400, examples: 4, max_size: 5, test_percent: 0, seed: 5 }).unwrap();
        // Tasks whose programs the decoder's vocabulary spells (a grammar constant without a
        // label of its own, such as a position copied from the examples, has no token).
        let tasks: Vec<Task> =
            data.train.into_iter().filter(|t| term_steps(&t.program, &t.problem.params).is_some()).take(8).collect();
        assert_eq!(tasks.len(), 8);
        let device = Device::flex();
        let model_config = tiny_model_config();
        let model = model_config.init(&device);
        let config =
            DecoderTrainingConfig::new(DecoderConfig::new().with_d_embed(32).with_d_token(16).with_d_hidden(32))
                .with_epochs(150)
                .with_batch_size(16)
                .with_learning_rate(1e-2);
        let out = train_decoder(&config, &model, &model_config, &tasks, &mut |_, _, _| {}).unwrap();
        assert!(out.last_loss < out.first_loss * 0.5, "loss went from {} to {}", out.first_loss, out.last_loss);
        assert_eq!(out.sequences, 2 * tasks.len());
        // On its own training tasks the decoder finds a term meeting the examples for most.
        let m = evaluate_decoder(&out.decoder, &model, &model_config, &tasks, BeamSettings { width: 16, max_nodes: 6 })
            .unwrap();
        assert!(m.solved_bare * 2 >= tasks.len(), "{m:?}");
        // Every term it proposes is one of the grammar's.
        let p = &tasks[0].problem;
        let grammar = DecodingGrammar::for_problem(p);
        let cond = condition(&model, &model_config, &[p], &[&tasks[0].features], &device).unwrap();
        let mut seen = Vec::new();
        let outcome = out
            .decoder
            .beam_search(
                cond,
                &grammar,
                BeamSettings { width: 8, max_nodes: 6 },
                &mut |t| {
                    seen.push(t.clone());
                    false
                },
                &CancelToken::new(),
            )
            .unwrap();
        assert_eq!(outcome.checked, seen.len());
        assert!(!seen.is_empty());
        for t in &seen {
            assert!(t.size() <= 6, "{t}");
            for n in t.nodes() {
                assert!(node_token(&n.op, &p.params).is_some(), "{t}");
            }
        }
    }
}
