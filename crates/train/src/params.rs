//! The trainable tensors of a module, found by walking it.
//!
//! A burn module is a tree of named fields; walking it gives each parameter a
//! path such as `blocks.3.attn.q.lora.a`. A parameter is *trainable* when its
//! tensor requires a gradient — frozen weights live on a plain (non-autodiff)
//! device and never do. Paths are stable across runs, so they key the
//! optimizer state and the checkpoints.

use std::collections::BTreeMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Gradients, Tensor};

/// Gradients by parameter path, flattened to `[n]`, without autodiff.
pub type GradMap = BTreeMap<String, Tensor<1>>;

/// Tracks the path of the field being visited.
#[derive(Default)]
struct Path(Vec<String>);

impl Path {
    fn enter(&mut self, name: &str, container: &str) {
        // an enum variant adds its own level (`Enum:Base`); skip it so that
        // paths read like field accesses
        if !container.starts_with("Enum") {
            self.0.push(name.to_string());
        }
    }
    fn exit(&mut self, container: &str) {
        if !container.starts_with("Enum") {
            self.0.pop();
        }
    }
    fn join(&self) -> String {
        self.0.join(".")
    }
}

struct Collect<'g> {
    path: Path,
    grads: Option<&'g Gradients>,
    out: BTreeMap<String, Tensor<1>>,
}

impl ModuleVisitor for Collect<'_> {
    fn enter_module(&mut self, name: &str, container: &str) {
        self.path.enter(name, container);
    }
    fn exit_module(&mut self, _name: &str, container: &str) {
        self.path.exit(container);
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val();
        if !value.is_require_grad() {
            return; // frozen
        }
        let n = value.shape().num_elements();
        let found = match self.grads {
            Some(grads) => value.grad(grads),
            None => Some(value.without_autodiff()),
        };
        if let Some(t) = found {
            self.out.insert(self.path.join(), t.reshape([n]));
        }
    }
}

/// The current values of the trainable parameters, flattened, by path.
pub fn trainable_params<M: Module>(module: &M) -> BTreeMap<String, Tensor<1>> {
    let mut c = Collect {
        path: Path::default(),
        grads: None,
        out: BTreeMap::new(),
    };
    module.visit(&mut c);
    c.out
}

/// The gradients of the trainable parameters after `loss.backward()`.
pub fn gradients<M: Module>(module: &M, grads: &Gradients) -> GradMap {
    let mut c = Collect {
        path: Path::default(),
        grads: Some(grads),
        out: BTreeMap::new(),
    };
    module.visit(&mut c);
    c.out
}

struct Update<F> {
    path: Path,
    f: F,
}

impl<F: FnMut(&str, Tensor<1>) -> Tensor<1>> ModuleMapper for Update<F> {
    fn enter_module(&mut self, name: &str, container: &str) {
        self.path.enter(name, container);
    }
    fn exit_module(&mut self, _name: &str, container: &str) {
        self.path.exit(container);
    }
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let value = param.val();
        if !value.is_require_grad() {
            return param;
        }
        let dims = value.dims();
        let flat = value
            .without_autodiff()
            .reshape([dims.iter().product::<usize>()]);
        let new = (self.f)(&self.path.join(), flat).reshape(dims);
        // a fresh leaf: the graph of the old value is not carried over
        param.map(|_| new.autodiff().require_grad())
    }
}

/// Replaces every trainable parameter by `f(path, flattened value)`; frozen
/// parameters are left untouched (bit for bit: they are not even read).
pub fn map_trainable<M: Module>(module: M, f: impl FnMut(&str, Tensor<1>) -> Tensor<1>) -> M {
    module.map(&mut Update {
        path: Path::default(),
        f,
    })
}
