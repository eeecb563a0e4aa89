package lua

import "github.com/yuin/gopher-lua/ast"

// The compiler's rewrites (rewriteBlock's fixes for gopher-lua's code
// generation, checkConcats' checked `..`) each change a few node kinds and
// otherwise only descend. The descent is written once, here: for every
// expression directly inside a node, expr is called and what it returns
// takes the expression's place; for every block, block is called. Children
// are visited in the order Lua evaluates them; nil children (an absent
// step, key or receiver) are passed over.

// rewriteExprChildren applies expr to e's subexpressions and block to the
// body of a function expression.
func rewriteExprChildren(e ast.Expr, expr func(ast.Expr) ast.Expr, block func([]ast.Stmt)) {
	each := func(p *ast.Expr) {
		if *p != nil {
			*p = expr(*p)
		}
	}
	switch e := e.(type) {
	case *ast.AttrGetExpr:
		each(&e.Object)
		each(&e.Key)
	case *ast.TableExpr:
		for _, f := range e.Fields {
			each(&f.Key)
			each(&f.Value)
		}
	case *ast.FuncCallExpr:
		each(&e.Func)
		each(&e.Receiver)
		rewriteList(e.Args, expr)
	case *ast.LogicalOpExpr:
		each(&e.Lhs)
		each(&e.Rhs)
	case *ast.RelationalOpExpr:
		each(&e.Lhs)
		each(&e.Rhs)
	case *ast.StringConcatOpExpr:
		each(&e.Lhs)
		each(&e.Rhs)
	case *ast.ArithmeticOpExpr:
		each(&e.Lhs)
		each(&e.Rhs)
	case *ast.UnaryMinusOpExpr:
		each(&e.Expr)
	case *ast.UnaryNotOpExpr:
		each(&e.Expr)
	case *ast.UnaryLenOpExpr:
		each(&e.Expr)
	case *ast.FunctionExpr:
		block(e.Stmts)
	}
}

// rewriteStmtChildren applies expr to the expressions of s and block to
// its blocks (a function definition's body included).
func rewriteStmtChildren(s ast.Stmt, expr func(ast.Expr) ast.Expr, block func([]ast.Stmt)) {
	each := func(p *ast.Expr) {
		if *p != nil {
			*p = expr(*p)
		}
	}
	switch s := s.(type) {
	case *ast.AssignStmt:
		rewriteList(s.Lhs, expr)
		rewriteList(s.Rhs, expr)
	case *ast.LocalAssignStmt:
		rewriteList(s.Exprs, expr)
	case *ast.FuncCallStmt:
		each(&s.Expr)
	case *ast.DoBlockStmt:
		block(s.Stmts)
	case *ast.WhileStmt:
		each(&s.Condition)
		block(s.Stmts)
	case *ast.RepeatStmt:
		block(s.Stmts)
		each(&s.Condition)
	case *ast.IfStmt:
		each(&s.Condition)
		block(s.Then)
		block(s.Else)
	case *ast.NumberForStmt:
		each(&s.Init)
		each(&s.Limit)
		each(&s.Step)
		block(s.Stmts)
	case *ast.GenericForStmt:
		rewriteList(s.Exprs, expr)
		block(s.Stmts)
	case *ast.FuncDefStmt:
		if s.Name != nil {
			each(&s.Name.Func)
			each(&s.Name.Receiver)
		}
		if s.Func != nil {
			block(s.Func.Stmts)
		}
	case *ast.ReturnStmt:
		rewriteList(s.Exprs, expr)
	}
}

func rewriteList(exprs []ast.Expr, expr func(ast.Expr) ast.Expr) {
	for i, e := range exprs {
		if e != nil {
			exprs[i] = expr(e)
		}
	}
}
